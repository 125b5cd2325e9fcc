import type { ProgressOutcome, ProgressUpdate } from '~/domain/learner-schemas';
import { progressArguments, toProgressOutcome, type ProgressRow } from '~/edge/learner-rows';

import type { Queryable } from './db/port.server';

/** How long an update waits for others to share its transaction, while another one commits. */
export const PROGRESS_BATCH_LINGER_MS = 2;

/**
 * Updates per transaction at most. `record_learner_progress_many` gives each one a
 * subtransaction, and past 64 in one transaction PostgreSQL's subtransaction cache overflows
 * (see its migration).
 */
export const PROGRESS_BATCH_MAX = 32;

const SINGLE_SQL = 'select * from public.record_learner_progress($1, $2, $3, $4, $5, $6, $7)';

interface Waiting {
  learnerId: string;
  update: ProgressUpdate;
  resolve: (outcome: ProgressOutcome) => void;
  reject: (error: unknown) => void;
}

interface Batcher {
  waiting: Waiting[];
  timer: NodeJS.Timeout | null;
  immediate: NodeJS.Immediate | null;
  inFlight: number;
}

const batchers = new WeakMap<Queryable, Batcher>();

/**
 * `record_learner_progress` for one learner's update, sharing one transaction with the other
 * progress updates of this process that arrive meanwhile (ADR 0014, third amendment; the same
 * scheme as the submit batcher of ADR 0021): with nothing committing, it goes at once (after the
 * current event-loop turn, which gathers a burst); while a transaction is committing, the updates
 * that arrive wait at most `PROGRESS_BATCH_LINGER_MS` (or until `PROGRESS_BATCH_MAX` wait) and go
 * together through `record_learner_progress_many`. Resolves only after that transaction
 * committed, so the update is durable when the caller answers, with the caller's own outcome
 * (applied, replayed, unknown chapter…). An update that raised inside the shared transaction
 * (rolled back alone) is run again on its own, so its caller meets exactly what a single call
 * gives, error included.
 */
export function recordProgressBatched(
  db: Queryable,
  learnerId: string,
  update: ProgressUpdate,
): Promise<ProgressOutcome> {
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = { waiting: [], timer: null, immediate: null, inFlight: 0 };
    batchers.set(db, batcher);
  }
  const state = batcher;
  return new Promise((resolve, reject) => {
    state.waiting.push({ learnerId, update, resolve, reject });
    if (state.waiting.length >= PROGRESS_BATCH_MAX) flush(db, state);
    else if (state.inFlight === 0) state.immediate ??= setImmediate(() => flush(db, state));
    else state.timer ??= setTimeout(() => flush(db, state), PROGRESS_BATCH_LINGER_MS);
  });
}

function flush(db: Queryable, state: Batcher) {
  if (state.timer) clearTimeout(state.timer);
  if (state.immediate) clearImmediate(state.immediate);
  state.timer = null;
  state.immediate = null;
  while (state.waiting.length > 0) {
    const batch = state.waiting.splice(0, PROGRESS_BATCH_MAX);
    state.inFlight += 1;
    void (batch.length === 1 ? recordAlone(db, batch[0]) : recordTogether(db, batch)).finally(() => {
      state.inFlight -= 1;
    });
  }
}

/** A lone update skips the subtransaction: the single function, as an unbatched caller would. */
async function recordAlone(db: Queryable, waiting: Waiting) {
  try {
    const [row] = await db.query<ProgressRow>(
      SINGLE_SQL,
      Object.values(progressArguments(waiting.learnerId, waiting.update)),
    );
    waiting.resolve(toProgressOutcome(row));
  } catch (error) {
    waiting.reject(error);
  }
}

async function recordTogether(db: Queryable, batch: Waiting[]) {
  let rows: (ProgressRow & { ordinal: number; error_code: string | null })[];
  try {
    rows = await db.query('select * from public.record_learner_progress_many($1)', [
      JSON.stringify(
        batch.map(({ learnerId, update }) => ({
          learner_id: learnerId,
          chapter_id: update.chapter_id,
          client_event_id: update.client_event_id,
          chapter_version: update.chapter_version,
          percent: update.percent,
          time_spent_seconds: update.time_spent_seconds,
          reset: update.reset,
        })),
      ),
    ]);
  } catch (error) {
    for (const waiting of batch) waiting.reject(error);
    return;
  }
  const retries: Promise<void>[] = [];
  const answered = new Set<Waiting>();
  for (const row of rows) {
    const waiting = batch[row.ordinal - 1];
    answered.add(waiting);
    if (row.error_code) retries.push(recordAlone(db, waiting));
    else {
      try {
        waiting.resolve(toProgressOutcome(row));
      } catch (error) {
        waiting.reject(error);
      }
    }
  }
  // Never leave a request hanging: an update the function did not answer fails loudly.
  for (const waiting of batch)
    if (!answered.has(waiting)) waiting.reject(new Error('record_learner_progress_many returned no row for an update'));
  await Promise.all(retries);
}
