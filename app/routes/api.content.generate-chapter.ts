import { json, type ActionFunctionArgs } from '@remix-run/node';

import { routeHeaders } from '~/domain/routing';
import { GenerateChapterSchema } from '~/domain/submit-schemas';
import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import { readSubmission, submitGeneration, submitterFor } from '~/server/services/submit.server';

const MAX_BODY_BYTES = 16 * 1024;

/**
 * POST /api/content/generate-chapter — queue one chapter. Cloud: 202 at once with the job id
 * and where to follow it. Edge: generated in this request, 200 with the content or 504.
 */
export async function action({ request }: ActionFunctionArgs) {
  const caller = await requireApiCaller(request, 'jobs.submit');
  const input = await readSubmission(request, GenerateChapterSchema, MAX_BODY_BYTES);
  const result = await submitGeneration(await getRuntime(), submitterFor(caller), { kind: 'chapter', input }, request);
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
        { status: 200, headers: routeHeaders(result.decision) },
      );
    case 'timed_out':
      return json(
        { error: 'timeout', message: result.message, job_id: result.jobId, status_url: `/api/jobs/${result.jobId}` },
        { status: 504, headers: routeHeaders(result.decision) },
      );
    case 'failed':
      return json(
        { error: result.code, message: result.message, job_id: result.jobId },
        { status: 502, headers: routeHeaders(result.decision) },
      );
  }
}

export function loader() {
  return apiError(405, 'method_not_allowed', 'POST a JSON body { "chapter_id": "…" } to queue a chapter.');
}
