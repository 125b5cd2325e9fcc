import { json } from '@remix-run/node';

import { AnalyticsComputeSchema } from '~/domain/job-kinds';
import { apiRoute, methodNotAllowed } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { queueLearningAnalytics } from '~/server/services/learning-analytics.server';
import { submitterFor } from '~/server/services/submit.server';

const MAX_BODY_BYTES = 4 * 1024;

/**
 * POST /api/analytics/compute — queue learning analytics for a range of whole UTC days
 * (`from`, `to`: YYYY-MM-DD) as an analytics job: 202 with the job to follow. Finance and admin.
 */
export const action = apiRoute({
  permission: 'analytics.compute',
  body: { schema: AnalyticsComputeSchema, maxBytes: MAX_BODY_BYTES },
  handle: async ({ caller, runtime, body: input }) => {
    const result = await queueLearningAnalytics(runtime, submitterFor(caller), input);
    if (result.kind === 'idempotency_key_reused') return apiError(422, result.kind, result.message);
    const { jobId, created } = result;
    return json(
      {
        job_id: jobId,
        kind: 'analytics',
        created,
        status_url: `/api/jobs/${jobId}`,
        cancel_url: `/api/jobs/${jobId}/cancel`,
        message: created
          ? 'Analytics queued. Follow status_url; the Learning page shows the result when it is done.'
          : 'Already submitted with this Idempotency-Key.',
      },
      { status: 202, headers: created ? {} : { 'Idempotent-Replayed': 'true' } },
    );
  },
});

export const loader = methodNotAllowed('Send a POST with {"from":"YYYY-MM-DD","to":"YYYY-MM-DD"} to queue analytics.');
