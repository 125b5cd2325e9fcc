import { json } from '@remix-run/node';

import { batchSavingMicros } from '~/domain/prices';
import { routeHeaders } from '~/domain/routing';
import { BatchGenerateSchema } from '~/domain/submit-schemas';
import { apiRoute, methodNotAllowed } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { submitGeneration, submitterFor } from '~/server/services/submit.server';

/** 1,000 ids of 36 characters plus options fit in well under this. */
const MAX_BODY_BYTES = 128 * 1024;

/**
 * POST /api/content/batch-generate — queue up to 1,000 chapters atomically (all or none). The
 * batch is routed once, by its first chapter's sticky key, for its priority, timeout and retries;
 * it is always queued (202), never generated inside the request (see `batchDecision`). With
 * `delivery: "economy"`, a rule whose destination is `batch` sends it to the Message Batches API.
 */
export const action = apiRoute({
  permission: 'jobs.submit',
  body: { schema: BatchGenerateSchema, maxBytes: MAX_BODY_BYTES },
  handle: async ({ request, caller, runtime, body: input }) => {
    const result = await submitGeneration(runtime, submitterFor(caller), { kind: 'batch', input }, request);
    if (result.kind === 'unknown_chapters') return apiError(422, 'unknown_chapter', result.message, result.fields);
    if (result.kind === 'idempotency_key_reused') return apiError(422, result.kind, result.message);
    const { batchId, jobIds, created, decision } = result;
    return json(
      {
        batch_id: batchId,
        job_ids: jobIds,
        created,
        status: 'pending',
        destination: decision.destination,
        // Economy delivery through the Message Batches API: the most it saves against streaming.
        ...(decision.destination === 'batch'
          ? {
              expected_saving_max_usd:
                batchSavingMicros(input.model, input.max_tokens, jobIds.length, runtime.prices) / 1e6,
            }
          : {}),
        status_url: `/api/batches/${batchId}`,
        cancel_url: `/api/batches/${batchId}/cancel`,
        jobs: jobIds.map((id) => ({ job_id: id, status_url: `/api/jobs/${id}` })),
        message: created ? `${jobIds.length} chapters queued.` : 'Already submitted with this Idempotency-Key.',
      },
      {
        status: 202,
        headers: { ...routeHeaders(result.decision), ...(created ? {} : { 'Idempotent-Replayed': 'true' }) },
      },
    );
  },
});

export const loader = methodNotAllowed('POST a JSON body { "chapter_ids": ["…"] } to queue a batch.');
