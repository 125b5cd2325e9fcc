import { createHash, randomUUID } from 'node:crypto';

import { jobEstimateMicros } from '~/domain/prices';
import { batchDecision, routeRequest, type RouteDecision } from '~/domain/routing';

import type { BatchGenerateInput, GenerateChapterInput } from '~/domain/submit-schemas';

import { audit } from '../audit.server';
import type { ApiCaller } from '../auth/auth.server';
import { batchedLookup } from '../batched-lookup.server';
import { executeJob, type ExecutionOutcome } from '../job-execution.server';
import { createLogger } from '../log.server';
import { presentJobDetail, presentJobStatus } from '../presenters/job-status.server';
import {
  claimJob,
  findChapters,
  isIdempotencyKeyReused,
  setBatchCap,
  submitBatch,
  submitJob,
  type NewJob,
} from '../queue.server';
import { activeRoutingConfig } from '../routing-config.server';
import { submitJobBatched } from '../submit-batcher.server';
import type { Runtime } from '../runtime.server';
import { assignVariant, routedLiveRollouts, type RolloutAssignment } from './rollout.server';

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

function jobFields(
  input: GenerateChapterInput | BatchGenerateInput,
  decision: RouteDecision,
  submitter: Submitter,
  assignment: RolloutAssignment | null = null,
) {
  return {
    // Under a rollout, the variant decides what the chapter is generated with (ADR 0018).
    model: assignment?.target.model ?? decision.model ?? input.model,
    maxTokens: assignment?.target.maxTokens ?? decision.maxTokens ?? input.max_tokens,
    rolloutId: assignment?.rolloutId ?? null,
    variant: assignment?.variant ?? null,
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
    batchRetriesToCloud: decision.destination === 'batch' && decision.retryPolicy.batchRetriesTo === 'cloud',
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
  assignment: RolloutAssignment | null = null,
): Promise<{ kind: 'queued'; jobId: string; created: boolean } | IdempotencyKeyReused> {
  const { key, fingerprint } = idempotency(submitter, input);
  let result;
  try {
    result = await submitJobBatched(runtime.db, {
      chapterId: input.chapter_id,
      ...jobFields(input, decision, submitter, assignment),
      idempotencyKey: key,
      idempotencyFingerprint: fingerprint,
    });
  } catch (error) {
    if (isIdempotencyKeyReused(error)) return keyReused();
    throw error;
  }
  if (result.created && decision.destination === 'cloud') runtime.wakeWorker();
  return { kind: 'queued', ...result };
}

async function queueBatch(
  runtime: Runtime,
  submitter: Submitter,
  input: BatchGenerateInput,
  decision: RouteDecision,
  assign: (chapterId: string) => RolloutAssignment | null = () => null,
): Promise<{ kind: 'queued'; batchId: string; jobIds: string[]; created: boolean } | IdempotencyKeyReused> {
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
      input.chapter_ids.map((chapterId) => ({
        chapterId,
        ...jobFields(input, decision, submitter, assign(chapterId)),
      })),
    );
    if (result.created) {
      // The estimate each job reserves against the cap, and the batch's estimate (shown against its actual).
      const maxCostMicros = input.max_cost_usd === undefined ? null : Math.round(input.max_cost_usd * 1_000_000);
      await setBatchCap(
        tx,
        result.batchId,
        maxCostMicros,
        jobEstimateMicros(input.model, input.max_tokens, runtime.prices),
      );
      await audit(tx, {
        actor: submitter.actor,
        action: 'batch.submit',
        targetType: 'batch',
        targetId: result.batchId,
        detail: { jobs: input.chapter_ids.length, destination: decision.destination, max_cost_micros: maxCostMicros },
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
  // Batch-destination jobs wait for the batch dispatcher's collection, not for a worker.
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
async function generateAtEdge(
  runtime: Runtime,
  submitter: Submitter,
  input: GenerateChapterInput,
  decision: RouteDecision,
  assignment: RolloutAssignment | null = null,
): Promise<{ jobId: string; created: boolean; outcome: ExecutionOutcome | undefined } | IdempotencyKeyReused> {
  const workerId = `edge-${randomUUID().slice(0, 8)}`;
  const leaseSeconds = Math.ceil(decision.timeoutMs / 1000) + 30;
  const { key, fingerprint } = idempotency(submitter, input);
  let submitted;
  try {
    submitted = await runtime.db.transaction(async (tx) => {
      const { jobId, created } = await submitJob(tx, {
        chapterId: input.chapter_id,
        ...jobFields(input, decision, submitter, assignment),
        idempotencyKey: key,
        idempotencyFingerprint: fingerprint,
      });
      // A replayed key finds the first request's job: it is not generated (or paid for) again.
      return { jobId, created, job: created ? await claimJob(tx, jobId, workerId, leaseSeconds) : null };
    });
  } catch (error) {
    if (isIdempotencyKeyReused(error)) return keyReused();
    throw error;
  }
  const { jobId, created, job } = submitted;
  if (!job) return { jobId, created, outcome: undefined };

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
    return { jobId, created, outcome };
  } finally {
    clearTimeout(timer);
  }
}

/** One chapter's course, read together with the other single-chapter submits waiting for one. */
const lookUpChapter = batchedLookup(findChapters);

/** What to generate: one chapter (queued or run at the edge) or a batch (always queued). */
export type GenerationRequest = ChapterRequest | BatchRequest;
type ChapterRequest = { kind: 'chapter'; input: GenerateChapterInput };
type BatchRequest = { kind: 'batch'; input: BatchGenerateInput };

/** Nothing was written: a chapter id matches no chapter, or the idempotency key was reused. */
type Refused =
  | { kind: 'unknown_chapters'; message: string; unknownIds: string[]; fields: Record<string, string[]> }
  | IdempotencyKeyReused;

export type ChapterSubmitResult =
  | { kind: 'queued'; decision: RouteDecision; jobId: string; created: boolean; status: string }
  | { kind: 'generated'; decision: RouteDecision; jobId: string; created: boolean; detail: JobDetail | null }
  | { kind: 'timed_out' | 'failed'; decision: RouteDecision; jobId: string; code: string; message: string }
  | Refused;

export type BatchSubmitResult =
  { kind: 'queued'; decision: RouteDecision; batchId: string; jobIds: string[]; created: boolean } | Refused;

type JobDetail = NonNullable<Awaited<ReturnType<typeof presentJobDetail>>>;

/** The API path each kind stands for: a page submission is routed as its API twin would be. */
const API_PATH = { chapter: '/api/content/generate-chapter', batch: '/api/content/batch-generate' } as const;

/**
 * Submitting a generation, from the API or the dashboard: checks the chapters exist (one
 * query), routes the request by the active config (a batch by its first chapter, and always
 * queued: see `batchDecision`), then queues it and wakes the worker, or generates the chapter
 * here at the edge. `routed` is the request the routing rules read (headers, path); without
 * one, a request to the API twin stands in.
 */
export function submitGeneration(
  runtime: Runtime,
  submitter: Submitter,
  request: ChapterRequest,
  routed?: Request,
): Promise<ChapterSubmitResult>;
export function submitGeneration(
  runtime: Runtime,
  submitter: Submitter,
  request: BatchRequest,
  routed?: Request,
): Promise<BatchSubmitResult>;
export async function submitGeneration(
  runtime: Runtime,
  submitter: Submitter,
  request: GenerationRequest,
  routed: Request = new Request(`http://switchyard.internal${API_PATH[request.kind]}`, { method: 'POST' }),
): Promise<ChapterSubmitResult | BatchSubmitResult> {
  const ids = request.kind === 'chapter' ? [request.input.chapter_id] : request.input.chapter_ids;
  // The routing config and the live rollouts come from this process's short-lived caches; one
  // chapter's lookup shares a read with the other submits waiting for one (issue 18, ADR 0024).
  const [chapters, active, rollouts] = await Promise.all([
    request.kind === 'chapter'
      ? lookUpChapter(runtime.db, request.input.chapter_id).then(
          (chapter) => new Map(chapter ? [[request.input.chapter_id, chapter]] : []),
        )
      : findChapters(runtime.db, ids),
    activeRoutingConfig(runtime),
    routedLiveRollouts(runtime.db),
  ]);
  const unknownIds = ids.filter((id) => !chapters.has(id));
  if (unknownIds.length > 0) return unknownChapters(request, unknownIds);

  const routeFor = (keys: { chapter: string; course?: string }) =>
    routeRequest(routed, active.config, { ...keys, user: submitter.actor }, active.version, request.input.delivery);
  // A live rollout on the decision's rule assigns each chapter a variant; the kill switch overrides it.
  const assign = (decision: RouteDecision, chapterId: string) => {
    const rollout = rollouts.get(decision.reason.ruleId);
    return rollout && decision.reason.override !== 'kill-switch' ? assignVariant(rollout, chapterId) : null;
  };

  if (request.kind === 'batch') {
    const first = request.input.chapter_ids[0];
    const decision = batchDecision(routeFor({ chapter: first, course: chapters.get(first)?.courseId }));
    const queued = await queueBatch(runtime, submitter, request.input, decision, (chapterId) =>
      assign(decision, chapterId),
    );
    return queued.kind === 'queued' ? { ...queued, decision } : queued;
  }

  const { input } = request;
  const routedDecision = routeFor({ chapter: input.chapter_id, course: chapters.get(input.chapter_id)?.courseId });
  const assignment = assign(routedDecision, input.chapter_id);
  // The variant's destination replaces the canary's choice for its rule while the rollout is live.
  const decision: RouteDecision = assignment
    ? {
        ...routedDecision,
        destination: assignment.target.destination,
        reason: {
          ...routedDecision.reason,
          override: routedDecision.reason.override === 'outside-canary' ? null : routedDecision.reason.override,
        },
      }
    : routedDecision;
  if (decision.destination !== 'edge') {
    const queued = await queueChapter(runtime, submitter, input, decision, assignment);
    if (queued.kind !== 'queued') return queued;
    const status = queued.created
      ? 'pending'
      : ((await presentJobStatus(runtime.db, queued.jobId))?.status ?? 'pending');
    return { ...queued, decision, status };
  }

  const generated = await generateAtEdge(runtime, submitter, input, decision, assignment);
  if (!('jobId' in generated)) return generated;
  const { jobId, created, outcome } = generated;
  const detail = await presentJobDetail(runtime.db, jobId);
  const status = detail?.job.status ?? 'pending';
  if (outcome === 'succeeded' || (!created && status === 'succeeded'))
    return { kind: 'generated', decision, jobId, created, detail };
  // The first request with this key is still generating it (or it was retried into the queue).
  if (!created && status !== 'failed' && status !== 'cancelled')
    return { kind: 'queued', decision, jobId, created, status };
  const error = detail?.job.error;
  return {
    kind: error?.code === 'timeout' ? 'timed_out' : 'failed',
    decision,
    jobId,
    code: error?.code ?? 'generation_failed',
    message: error?.message ?? 'Generation failed.',
  };
}

function unknownChapters(request: GenerationRequest, unknownIds: string[]): Refused {
  if (request.kind === 'chapter')
    return {
      kind: 'unknown_chapters',
      message: 'No chapter has this id.',
      unknownIds,
      fields: { chapter_id: ['no chapter has this id'] },
    };
  const unknown = new Set(unknownIds);
  const fields = Object.fromEntries(
    request.input.chapter_ids.flatMap((id, index) =>
      unknown.has(id) ? [[`chapter_ids[${index}]`, ['no chapter has this id']]] : [],
    ),
  );
  return {
    kind: 'unknown_chapters',
    message: `${Object.keys(fields).length} chapter id(s) match no chapter; nothing was queued.`,
    unknownIds,
    fields,
  };
}
