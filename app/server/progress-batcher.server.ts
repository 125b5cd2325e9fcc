import type { ProgressOutcome, ProgressUpdate } from '~/domain/learner-schemas';
import { progressArguments, toProgressOutcome, type ProgressRow } from '~/edge/learner-rows';

import type { Queryable } from './db/port.server';
import { microBatcher, type Waiting } from './micro-batcher.server';

/** How long an update waits for others to share its transaction, while another one commits. */
export const PROGRESS_BATCH_LINGER_MS = 2;

/**
 * Updates per transaction at most. `record_learner_progress_many` gives each one a
 * subtransaction, and past 64 in one transaction PostgreSQL's subtransaction cache overflows
 * (see its migration).
 */
export const PROGRESS_BATCH_MAX = 32;

const SINGLE_SQL = 'select * from public.record_learner_progress($1, $2, $3, $4, $5, $6, $7)';

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
  return batched(db, { learnerId, update });
}

interface Item {
  learnerId: string;
  update: ProgressUpdate;
}

const batched = microBatcher<Item, ProgressOutcome>({
  max: PROGRESS_BATCH_MAX,
  lingerMs: PROGRESS_BATCH_LINGER_MS,
  send: (db, batch) => (batch.length === 1 ? recordAlone(db, batch[0]) : recordTogether(db, batch)),
  unanswered: 'record_learner_progress_many returned no row for an update',
});

/** A lone update skips the subtransaction: the single function, as an unbatched caller would. */
async function recordAlone(db: Queryable, { item, resolve }: Waiting<Item, ProgressOutcome>) {
  const [row] = await db.query<ProgressRow>(SINGLE_SQL, Object.values(progressArguments(item.learnerId, item.update)));
  resolve(toProgressOutcome(row));
}

async function recordTogether(db: Queryable, batch: Waiting<Item, ProgressOutcome>[]) {
  const rows = await db.query<ProgressRow & { ordinal: number; error_code: string | null }>(
    'select * from public.record_learner_progress_many($1)',
    [
      JSON.stringify(
        batch.map(({ item: { learnerId, update } }) => ({
          learner_id: learnerId,
          chapter_id: update.chapter_id,
          client_event_id: update.client_event_id,
          chapter_version: update.chapter_version,
          percent: update.percent,
          time_spent_seconds: update.time_spent_seconds,
          reset: update.reset,
        })),
      ),
    ],
  );
  // An update that raised was rolled back alone: run it again on its own, so its caller meets
  // exactly what a single call gives, error included.
  const retries: Promise<void>[] = [];
  for (const row of rows) {
    const waiting = batch[row.ordinal - 1];
    if (row.error_code) retries.push(recordAlone(db, waiting).catch(waiting.reject));
    else {
      try {
        waiting.resolve(toProgressOutcome(row));
      } catch (error) {
        waiting.reject(error);
      }
    }
  }
  await Promise.all(retries);
}
