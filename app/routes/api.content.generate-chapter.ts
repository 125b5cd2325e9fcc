import { json, type ActionFunctionArgs } from '@remix-run/node';

import { routeHeaders, routeRequest } from '~/domain/routing';
import { GenerateChapterSchema } from '~/domain/submit-schemas';
import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { presentJobDetail, presentJobStatus } from '~/server/presenters/job-status.server';
import { findChapters } from '~/server/queue.server';
import { activeRoutingConfig } from '~/server/routing-config.server';
import { getRuntime } from '~/server/runtime.server';
import { generateAtEdge, queueChapter, readSubmission, submitterFor } from '~/server/services/submit.server';

const MAX_BODY_BYTES = 16 * 1024;

/**
 * POST /api/content/generate-chapter — queue one chapter. Cloud: 202 at once with the job id
 * and where to follow it. Edge: generated in this request, 200 with the content or 504.
 */
export async function action({ request }: ActionFunctionArgs) {
  const caller = await requireApiCaller(request, 'jobs.submit');
  const runtime = await getRuntime();
  const input = await readSubmission(request, GenerateChapterSchema, MAX_BODY_BYTES);

  const chapter = (await findChapters(runtime.db, [input.chapter_id])).get(input.chapter_id);
  if (!chapter)
    return apiError(422, 'unknown_chapter', 'No chapter has this id.', { chapter_id: ['no chapter has this id'] });

  const active = await activeRoutingConfig(runtime);
  const decision = routeRequest(
    request,
    active.config,
    { chapter: input.chapter_id, course: chapter.courseId, user: caller.actor },
    active.version,
  );
  const headers = routeHeaders(decision);
  const submitter = submitterFor(caller);

  if (decision.destination === 'cloud') {
    const queued = await queueChapter(runtime, submitter, input, decision);
    if (queued.kind === 'idempotency_key_reused') return apiError(422, queued.kind, queued.message);
    const { jobId, created } = queued;
    return json(
      {
        job_id: jobId,
        status: created ? 'pending' : ((await presentJobStatus(runtime.db, jobId))?.status ?? 'pending'),
        created,
        status_url: `/api/jobs/${jobId}`,
        cancel_url: `/api/jobs/${jobId}/cancel`,
        message: created
          ? 'Generation queued. Follow status_url, or subscribe to live updates.'
          : 'Already submitted with this Idempotency-Key.',
      },
      { status: 202, headers: { ...headers, ...(created ? {} : { 'Idempotent-Replayed': 'true' }) } },
    );
  }

  const { jobId, outcome } = await generateAtEdge(runtime, submitter, input, decision);
  const detail = await presentJobDetail(runtime.db, jobId);
  const job = detail?.job;
  if (outcome === 'succeeded') return json({ ...job, content: detail?.content ?? null }, { status: 200, headers });
  if (job?.error?.code === 'timeout') {
    return json(
      { error: 'timeout', message: job.error.message, job_id: jobId, status_url: `/api/jobs/${jobId}` },
      { status: 504, headers },
    );
  }
  return json(
    {
      error: job?.error?.code ?? 'generation_failed',
      message: job?.error?.message ?? 'Generation failed.',
      job_id: jobId,
    },
    { status: 502, headers },
  );
}

export function loader() {
  return apiError(405, 'method_not_allowed', 'POST a JSON body { "chapter_id": "…" } to queue a chapter.');
}
