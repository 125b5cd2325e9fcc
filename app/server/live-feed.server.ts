import { JOBS_CHANNEL, type Database, type JobsNotification } from './db/port.server';

export interface LiveFeedSubscriber {
  /** A job change as JSON: {"event", "jobs": [...]} (a `JobsNotification`). */
  onJobs(payload: string): void;
  /**
   * Something may have changed that the feed could not say: it lost the database for a while.
   * Pages answer by revalidating everything they show.
   */
  onReload(): void;
}

/** How often the feed reads: bench:live's budget is 100 ms from commit to DOM at p95. */
export const LIVE_FEED_INTERVAL_MS = 25;

/**
 * How long an event id missing below newer ones is waited for. Identity values are taken
 * before commit, so a transaction can commit an older id after a newer one has been read; a
 * rolled-back one never commits it. Transactions that write job events commit within
 * milliseconds, so two seconds covers a slow commit without stalling the cursor for ever.
 */
export const LIVE_FEED_GAP_WAIT_MS = 2_000;

/** Events read per poll at most; a longer backlog is read on the next polls. */
const EVENTS_PER_POLL = 1_000;

/** Progress writes younger than this are read again, so a late commit is still seen. */
const PROGRESS_WINDOW = '2 seconds';

interface Feed {
  subscribers: Set<LiveFeedSubscriber>;
  stop: () => Promise<void>;
}

const feeds = new WeakMap<Database, Promise<Feed>>();

/**
 * The job changes every `/live` stream of this process sends, read from the database by one
 * query every 25 ms shared by every subscriber (ADR 0021): the job_events rows after a cursor
 * (every status transition and cancel request, in order) and the running jobs whose progress
 * moved. The few notifications still sent on the jobs channel (new work, cancel requests) only
 * make it read at once. Nothing depends on them: the commit path sends no NOTIFY per row, a
 * listener that is down or cannot deliver (a transaction-mode pooler) loses nothing, and what
 * changed while the database was away is read when it is back. Returns the unsubscribe.
 */
export async function subscribeLiveFeed(db: Database, subscriber: LiveFeedSubscriber): Promise<() => Promise<void>> {
  let feed = feeds.get(db);
  if (!feed) {
    feed = openFeed(db);
    feeds.set(db, feed);
  }
  const opened = await feed;
  opened.subscribers.add(subscriber);
  return async () => {
    opened.subscribers.delete(subscriber);
    if (opened.subscribers.size === 0 && feeds.get(db) === feed) {
      feeds.delete(db);
      await opened.stop();
    }
  };
}

interface ChangeRow {
  kind: 'event' | 'progress';
  id: number | null;
  job_id: string;
  event: string;
  status: string;
  batch_id: string | null;
  output_tokens: number | null;
  text_length: number | null;
}

async function openFeed(db: Database): Promise<Feed> {
  const subscribers = new Set<LiveFeedSubscriber>();
  const broadcast = (send: (subscriber: LiveFeedSubscriber) => void) => {
    for (const subscriber of subscribers) send(subscriber);
  };
  // Changes from now on: the cursor starts at the newest event, read when the database answers
  // (a stream opened while it is unreachable waits for it instead of failing).
  let cursor: EventCursor | null = null;
  let failing = false;
  const startCursor = async () => {
    const [start] = await db.query<{ id: number }>('select coalesce(max(id), 0) as id from public.job_events');
    cursor = new EventCursor(start.id);
    return cursor;
  };
  await startCursor().catch(() => {
    failing = true;
  });
  // What each running job's progress was last said to be, so a heartbeat (which also moves
  // updated_at) or a re-read inside the window is not announced again.
  const progressSeen = new Map<string, string>();
  let reading = false;
  let readAgain = false;
  let stopped = false;

  const read = async (): Promise<void> => {
    if (stopped) return;
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    readAgain = false;
    try {
      const current = cursor ?? (await startCursor());
      const rows = await db.query<ChangeRow>(
        `(select 'event' as kind, e.id, e.job_id, e.event, e.to_status as status, j.batch_id,
                 null::integer as output_tokens, null::integer as text_length
          from public.job_events e join public.chapter_content_jobs j on j.id = e.job_id
          where e.id > $1 order by e.id limit ${EVENTS_PER_POLL})
         union all
         (select 'progress', null, j.id, 'progress', 'running', j.batch_id,
                 j.progress_output_tokens, j.progress_length
          from public.chapter_content_jobs j
          where j.status = 'running' and j.updated_at > now() - interval '${PROGRESS_WINDOW}')`,
        [current.position],
      );
      if (failing) {
        failing = false;
        broadcast((subscriber) => subscriber.onReload());
      }
      const changes: JobsNotification[] = [];
      const add = (event: JobsNotification['event'], job: JobsNotification['jobs'][number]) => {
        const last = changes[changes.length - 1];
        if (last?.event === event) last.jobs.push(job);
        else changes.push({ event, jobs: [job] });
      };
      for (const row of rows) {
        if (row.kind === 'event') {
          if (!current.take(Number(row.id))) continue;
          if (row.status !== 'running') progressSeen.delete(row.job_id);
          add(row.event === 'cancel_requested' ? 'cancel_requested' : 'status', {
            id: row.job_id,
            status: row.status,
            batch_id: row.batch_id,
          });
        } else {
          const mark = `${row.output_tokens}:${row.text_length}`;
          if (progressSeen.get(row.job_id) === mark) continue;
          progressSeen.set(row.job_id, mark);
          // A job just claimed has no progress yet: its `running` event said all there is.
          if (!row.output_tokens && !row.text_length) continue;
          add('progress', {
            id: row.job_id,
            status: 'running',
            batch_id: row.batch_id,
            output_tokens: row.output_tokens ?? 0,
          });
        }
      }
      current.settle(Date.now());
      for (const change of changes) {
        const payload = JSON.stringify(change);
        broadcast((subscriber) => subscriber.onJobs(payload));
      }
    } catch {
      // The database is unreachable; the cursor stays where it was and the next tick tries again.
      failing = true;
    } finally {
      reading = false;
    }
    if (readAgain) await read();
  };

  const unlisten = await db.listen(JOBS_CHANNEL, () => void read());
  const timer = setInterval(() => void read(), LIVE_FEED_INTERVAL_MS);
  timer.unref();

  return {
    subscribers,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await unlisten();
    },
  };
}

/**
 * A cursor over job_events ids that tolerates ids committed out of order: every id at or below
 * `position` was delivered (or given up on after `LIVE_FEED_GAP_WAIT_MS`); ids above it that
 * were already delivered are remembered so a re-read does not deliver them twice.
 */
export class EventCursor {
  private delivered = new Set<number>();
  private gapSince: number | null = null;

  constructor(public position: number) {}

  /** True the first time an id is seen: deliver it. */
  take(id: number): boolean {
    if (id <= this.position || this.delivered.has(id)) return false;
    this.delivered.add(id);
    return true;
  }

  /** Moves the position over every delivered id in a row, and past a gap waited on too long. */
  settle(now: number) {
    for (;;) {
      while (this.delivered.delete(this.position + 1)) this.position += 1;
      if (this.delivered.size === 0) {
        this.gapSince = null;
        return;
      }
      this.gapSince ??= now;
      if (now - this.gapSince < LIVE_FEED_GAP_WAIT_MS) return;
      this.position = Math.min(...this.delivered) - 1;
      this.gapSince = null;
    }
  }
}
