import { json, type ActionFunctionArgs } from '@remix-run/node';

import { batchDecision, routeHeaders, routeRequest } from '~/domain/routing';
import { BatchGenerateSchema } from '~/domain/submit-schemas';
import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { findChapters } from '~/server/queue.server';
import { activeRoutingConfig } from '~/server/routing-config.server';
import { getRuntime } from '~/server/runtime.server';
import { queueBatch, readSubmission, submitterFor } from '~/server/services/submit.server';

/** 1,000 ids of 36 characters plus options fit in well under this. */
const MAX_BODY_BYTES = 128 * 1024;

/**
 * POST /api/content/batch-generate — queue up to 1,000 chapters atomically (all or none). The
 * batch is routed once, by its first chapter's sticky key, for its priority, timeout and retries;
 * it is always queued (202), never generated inside the request (see `batchDecision`).
 */
export async function action({ request }: ActionFunctionArgs) {
  const caller = await requireApiCaller(request, 'jobs.submit');
  const runtime = await getRuntime();
  const input = await readSubmission(request, BatchGenerateSchema, MAX_BODY_BYTES);

  const chapters = await findChapters(runtime.db, input.chapter_ids);
  const unknown = input.chapter_ids.flatMap((id, index) => (chapters.has(id) ? [] : [`chapter_ids[${index}]`]));
  if (unknown.length > 0) {
    return apiError(
      422,
      'unknown_chapter',
      `${unknown.length} chapter id(s) match no chapter; nothing was queued.`,
      Object.fromEntries(unknown.map((field) => [field, ['no chapter has this id']])),
    );
  }

  const first = input.chapter_ids[0];
  const active = await activeRoutingConfig(runtime);
  const decision = batchDecision(
    routeRequest(
      request,
      active.config,
      { chapter: first, course: chapters.get(first)?.courseId, user: caller.actor },
      active.version,
    ),
  );
  const headers = routeHeaders(decision);
  const submitter = submitterFor(caller);

  const queued = await queueBatch(runtime, submitter, input, decision);
  if (queued.kind === 'idempotency_key_reused') return apiError(422, queued.kind, queued.message);
  const { batchId, jobIds, created } = queued;
  return json(
    {
      batch_id: batchId,
      job_ids: jobIds,
      created,
      status: 'pending',
      status_url: `/api/batches/${batchId}`,
      cancel_url: `/api/batches/${batchId}/cancel`,
      jobs: jobIds.map((id) => ({ job_id: id, status_url: `/api/jobs/${id}` })),
      message: created ? `${jobIds.length} chapters queued.` : 'Already submitted with this Idempotency-Key.',
    },
    { status: 202, headers: { ...headers, ...(created ? {} : { 'Idempotent-Replayed': 'true' }) } },
  );
}

export function loader() {
  return apiError(405, 'method_not_allowed', 'POST a JSON body { "chapter_ids": ["…"] } to queue a batch.');
}
