import { createHash, randomUUID } from 'node:crypto';

import { routeRequest, type RouteDecision } from '~/domain/routing';
import type { z } from 'zod';

import { fieldErrors, type BatchGenerateInput, type GenerateChapterInput } from '~/domain/submit-schemas';

import { audit } from '../audit.server';
import type { ApiCaller } from '../auth/auth.server';
import { apiError, readApiHeader, readJsonBody } from '../http.server';
import { executeJob, type ExecutionOutcome } from '../job-execution.server';
import { createLogger } from '../log.server';
import { claimJob, isIdempotencyKeyReused, submitBatch, submitJob, type NewJob } from '../queue.server';
import { activeRoutingConfig } from '../routing-config.server';
import type { Runtime } from '../runtime.server';

/**
 * Queueing generation: the job rows (and the batch) commit first, then the worker is woken.
 * `cloud` answers at once; `edge` runs one chapter's generation inside the request under the
 * rule's timeout, recorded as a job with destination `edge` so both paths show in the same charts.
 */

export interface Submitter {
  actor: string;
  /** Scopes idempotency keys per caller, so two callers can never collide on a key. */
  scope: string;
}

export function submitterFor(caller: ApiCaller): Submitter {
  return {
    actor: caller.actor,
    scope: caller.kind === 'token' ? `token:${caller.token.id}` : `staff:${caller.staff.id}`,
  };
}

/**
 * An API submission's JSON body checked against `schema`, with an `Idempotency-Key` header
 * taking the place of the body's `idempotency_key`. Throws the 4xx answer when it is wrong.
 */
export async function readSubmission<T>(request: Request, schema: z.ZodType<T>, maxBytes: number): Promise<T> {
  const body = await readJsonBody(request, maxBytes);
  const headerKey = readApiHeader(request, 'Idempotency-Key') ?? undefined;
  const parsed = schema.safeParse({ ...body, ...(headerKey ? { idempotency_key: headerKey } : {}) });
  if (!parsed.success)
    throw apiError(400, 'invalid_request', 'The request body has invalid fields.', fieldErrors(parsed.error));
  return parsed.data;
}

function jobFields(input: GenerateChapterInput | BatchGenerateInput, decision: RouteDecision, submitter: Submitter) {
  return {
    model: input.model,
    maxTokens: input.max_tokens,
    temperature: input.temperature,
    priority: input.priority ?? decision.priority,
    destination: decision.destination,
    routeRuleId: decision.reason.ruleId,
    configVersion: decision.reason.configVersion,
    timeoutMs: decision.timeoutMs,
    maxRetries: decision.destination === 'edge' ? 0 : decision.retryPolicy.maxRetries,
    retryBackoff: decision.retryPolicy.backoff,
    retryBaseMs: decision.retryPolicy.baseDelayMs,
    retryMaxMs: decision.retryPolicy.maxDelayMs,
    createdBy: submitter.actor,
    dispatched: decision.destination === 'cloud',
  } satisfies Omit<NewJob, 'chapterId'>;
}

const scopedKey = (submitter: Submitter, key: string | undefined) => (key ? `${submitter.scope}:${key}` : null);

/**
 * What a request asks for, as a SHA-256 of its parsed body (defaults filled in, keys sorted),
 * without the idempotency key itself: a retry of the same request matches, and so does one that
 * spells out a default; any other change does not.
 */
export function requestFingerprint(input: GenerateChapterInput | BatchGenerateInput): string {
  const { idempotency_key: _key, ...request } = input;
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(request).sort(([a], [b]) => a.localeCompare(b))));
  return createHash('sha256').update(canonical).digest('hex');
}

/** The idempotency key and fingerprint a submission stores, or nulls without a key. */
function idempotency(submitter: Submitter, input: GenerateChapterInput | BatchGenerateInput) {
  const key = scopedKey(submitter, input.idempotency_key);
  return { key, fingerprint: key ? requestFingerprint(input) : null };
}

/** A key already used with a different request: nothing was written. */
export interface IdempotencyKeyReused {
  kind: 'idempotency_key_reused';
  message: string;
}

const keyReused = (): IdempotencyKeyReused => ({
  kind: 'idempotency_key_reused',
  message:
    'This Idempotency-Key was first used with a different request. Send the same request to get its result ' +
    'again, or use a new key for a new request.',
});

export async function queueChapter(
  runtime: Runtime,
  submitter: Submitter,
  input: GenerateChapterInput,
  decision: RouteDecision,
): Promise<{ kind: 'queued'; jobId: string; created: boolean } | IdempotencyKeyReused> {
  const { key, fingerprint } = idempotency(submitter, input);
  let result;
  try {
    result = await submitJob(runtime.db, {
      chapterId: input.chapter_id,
      ...jobFields(input, decision, submitter),
      idempotencyKey: key,
      idempotencyFingerprint: fingerprint,
    });
  } catch (error) {
    if (isIdempotencyKeyReused(error)) return keyReused();
    throw error;
  }
  if (result.created) runtime.wakeWorker();
  return { kind: 'queued', ...result };
}

export async function queueBatch(
  runtime: Runtime,
  submitter: Submitter,
  input: BatchGenerateInput,
  decision: RouteDecision,
): Promise<{ kind: 'queued'; batchId: string; jobIds: string[]; created: boolean } | IdempotencyKeyReused> {
  const fields = jobFields(input, decision, submitter);
  const { key, fingerprint } = idempotency(submitter, input);
  const submit = runtime.db.transaction(async (tx) => {
    const result = await submitBatch(
      tx,
      {
        name: input.name ?? `${input.chapter_ids.length} chapters`,
        idempotencyKey: key,
        idempotencyFingerprint: fingerprint,
        createdBy: submitter.actor,
      },
      input.chapter_ids.map((chapterId) => ({ chapterId, ...fields })),
    );
    if (result.created) {
      await audit(tx, {
        actor: submitter.actor,
        action: 'batch.submit',
        targetType: 'batch',
        targetId: result.batchId,
        detail: { jobs: input.chapter_ids.length, destination: decision.destination },
      });
    }
    return result;
  });
  let submitted;
  try {
    submitted = await submit;
  } catch (error) {
    if (isIdempotencyKeyReused(error)) return keyReused();
    throw error;
  }
  const { batchId, created } = submitted;
  const jobIds = await batchJobIds(runtime, batchId);
  if (created && decision.destination === 'cloud') runtime.wakeWorker();
  return { kind: 'queued', batchId, jobIds, created };
}

async function batchJobIds(runtime: Runtime, batchId: string): Promise<string[]> {
  const rows = await runtime.db.query<{ id: string }>(
    'select id from public.chapter_content_jobs where batch_id = $1 order by created_at, id',
    [batchId],
  );
  return rows.map((row) => row.id);
}

/**
 * The edge path for one chapter: inserts the job already claimed by this request (no worker can
 * take it), then generates it here until it ends or the rule's timeout passes; still running
 * then, it ends failed with code `timeout`. Batches never come here: they are always queued.
 */
export async function generateAtEdge(
  runtime: Runtime,
  submitter: Submitter,
  input: GenerateChapterInput,
  decision: RouteDecision,
): Promise<{ jobId: string; outcome: ExecutionOutcome | undefined }> {
  const workerId = `edge-${randomUUID().slice(0, 8)}`;
  const leaseSeconds = Math.ceil(decision.timeoutMs / 1000) + 30;
  const { jobId, job } = await runtime.db.transaction(async (tx) => {
    const { jobId } = await submitJob(tx, { chapterId: input.chapter_id, ...jobFields(input, decision, submitter) });
    return { jobId, job: await claimJob(tx, jobId, workerId, leaseSeconds) };
  });
  if (!job) return { jobId, outcome: undefined };

  const log = createLogger({ component: 'edge', worker: workerId });
  const control: { abort: AbortController; reason?: 'timeout' } = { abort: new AbortController() };
  const timer = setTimeout(() => {
    control.reason ??= 'timeout';
    control.abort.abort();
  }, decision.timeoutMs);
  try {
    const { outcome } = await executeJob({
      db: runtime.db,
      job,
      generator: runtime.generator,
      workerId,
      leaseSeconds,
      prices: runtime.prices,
      control,
      log,
    });
    return { jobId, outcome };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The route decision for a submission made from the dashboard: the same rules as the API path
 * it stands for, so a chapter queued from a page goes where the API would send it.
 */
export async function decideRoute(
  runtime: Runtime,
  apiPath: string,
  keys: { chapter?: string; course?: string; user?: string },
): Promise<RouteDecision> {
  const active = await activeRoutingConfig(runtime);
  return routeRequest(
    new Request(`http://switchyard.internal${apiPath}`, { method: 'POST' }),
    active.config,
    keys,
    active.version,
  );
}
