import {
  JOBS_CHANNEL,
  LISTENER_POLL_INTERVAL_MS,
  listenerNeedsPolling,
  type Database,
  type ListenerState,
} from './db/port.server';

export interface LiveFeedSubscriber {
  /** A NOTIFY payload on the jobs channel, as it arrived. */
  onJobs(payload: string): void;
  /**
   * Something may have changed that no notification said: the listener reconnected (what was
   * sent while it was down is lost), or, while it cannot deliver, the poll saw new job events.
   * Pages answer by revalidating everything they show.
   */
  onReload(): void;
}

interface Feed {
  subscribers: Set<LiveFeedSubscriber>;
  stop: () => Promise<void>;
}

const feeds = new WeakMap<Database, Promise<Feed>>();

/**
 * The job changes every `/live` stream of this process sends: one LISTEN and, while the
 * listener is down or deaf (a transaction-mode pooler), one poll of the newest job event id
 * (an index-only read of job_events' primary key) shared by every subscriber, so the cost does
 * not grow with the number of open pages. Returns the unsubscribe.
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

async function openFeed(db: Database): Promise<Feed> {
  const subscribers = new Set<LiveFeedSubscriber>();
  const reload = () => {
    for (const subscriber of subscribers) subscriber.onReload();
  };
  const unlisten = await db.listen(JOBS_CHANNEL, (payload) => {
    for (const subscriber of subscribers) subscriber.onJobs(payload);
  });
  const unwatch = db.onListenerChange((_state: ListenerState, reconnected) => {
    if (reconnected) reload();
  });

  let lastEventId: number | null = null;
  let polling = false;
  const poll = setInterval(async () => {
    if (polling) return;
    if (!listenerNeedsPolling(db.listenerState())) {
      lastEventId = null;
      return;
    }
    polling = true;
    try {
      const [row] = await db.query<{ id: number | null }>('select max(id) as id from public.job_events');
      const id = row?.id ?? 0;
      if (lastEventId !== null && id !== lastEventId) reload();
      lastEventId = id;
    } catch {
      // The database is unreachable too; the next tick tries again.
    } finally {
      polling = false;
    }
  }, LISTENER_POLL_INTERVAL_MS);
  poll.unref();

  return {
    subscribers,
    async stop() {
      clearInterval(poll);
      unwatch();
      await unlisten();
    },
  };
}
