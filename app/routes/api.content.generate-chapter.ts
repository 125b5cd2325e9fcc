import { json } from '@remix-run/node';

import { routeHeaders } from '~/domain/routing';
import { GenerateChapterSchema } from '~/domain/submit-schemas';
import { apiRoute, methodNotAllowed } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { submitGeneration, submitterFor } from '~/server/services/submit.server';

const MAX_BODY_BYTES = 16 * 1024;

/**
 * POST /api/content/generate-chapter — queue one chapter. Cloud: 202 at once with the job id
 * and where to follow it. Edge: generated in this request, 200 with the content or 504.
 */
export const action = apiRoute({
  permission: 'jobs.submit',
  body: { schema: GenerateChapterSchema, maxBytes: MAX_BODY_BYTES },
  handle: async ({ request, caller, runtime, body: input }) => {
    const result = await submitGeneration(runtime, submitterFor(caller), { kind: 'chapter', input }, request);
    switch (result.kind) {
      case 'unknown_chapters':
        return apiError(422, 'unknown_chapter', result.message, result.fields);
      case 'idempotency_key_reused':
        return apiError(422, result.kind, result.message);
      case 'queued': {
        const { jobId, created } = result;
        return json(
          {
            job_id: jobId,
            status: result.status,
            created,
            status_url: `/api/jobs/${jobId}`,
            cancel_url: `/api/jobs/${jobId}/cancel`,
            message: created
              ? 'Generation queued. Follow status_url, or subscribe to live updates.'
              : 'Already submitted with this Idempotency-Key.',
          },
          {
            status: 202,
            headers: { ...routeHeaders(result.decision), ...(created ? {} : { 'Idempotent-Replayed': 'true' }) },
          },
        );
      }
      case 'generated':
        return json(
          { ...result.detail?.job, content: result.detail?.content ?? null },
          {
            status: 200,
            headers: { ...routeHeaders(result.decision), ...(result.created ? {} : { 'Idempotent-Replayed': 'true' }) },
          },
        );
      case 'timed_out':
        return json(
          {
            error: { code: 'timeout', message: result.message },
            job_id: result.jobId,
            status_url: `/api/jobs/${result.jobId}`,
          },
          { status: 504, headers: routeHeaders(result.decision) },
        );
      case 'failed':
        return json(
          { error: { code: result.code, message: result.message }, job_id: result.jobId },
          { status: 502, headers: routeHeaders(result.decision) },
        );
    }
  },
});

export const loader = methodNotAllowed('POST a JSON body { "chapter_id": "…" } to queue a chapter.');
