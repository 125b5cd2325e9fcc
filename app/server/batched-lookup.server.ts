import type { Queryable } from './db/port.server';

/**
 * Reads by key, coalesced across the concurrent requests of one process (issue 18, ADR 0024):
 * every key asked for while a lookup is on its way waits for it to return and then goes in the
 * next one, so a burst of N requests costs one query (`where key = any($1)`) instead of N pool
 * checkouts. With nothing in flight a lookup goes after the current event-loop turn (which
 * gathers a burst), never after a timer. At most one lookup per database is in flight.
 *
 * `read` gets distinct keys and returns what it found by key; a key it did not find resolves to
 * undefined. A failed read rejects every caller of that lookup, and only them.
 */
export function batchedLookup<Key, Value>(
  read: (db: Queryable, keys: Key[]) => Promise<Map<Key, Value>>,
): (db: Queryable, key: Key) => Promise<Value | undefined> {
  interface Waiting {
    key: Key;
    resolve: (value: Value | undefined) => void;
    reject: (error: unknown) => void;
  }
  interface State {
    waiting: Waiting[];
    scheduled: boolean;
    inFlight: boolean;
  }
  const states = new WeakMap<Queryable, State>();

  function flush(db: Queryable, state: State) {
    state.scheduled = false;
    if (state.inFlight || state.waiting.length === 0) return;
    const batch = state.waiting.splice(0);
    state.inFlight = true;
    read(db, [...new Set(batch.map((waiting) => waiting.key))])
      .then(
        (found) => {
          for (const waiting of batch) waiting.resolve(found.get(waiting.key));
        },
        (error: unknown) => {
          for (const waiting of batch) waiting.reject(error);
        },
      )
      .finally(() => {
        state.inFlight = false;
        flush(db, state);
      });
  }

  return (db, key) => {
    let state = states.get(db);
    if (!state) {
      state = { waiting: [], scheduled: false, inFlight: false };
      states.set(db, state);
    }
    const current = state;
    return new Promise((resolve, reject) => {
      current.waiting.push({ key, resolve, reject });
      if (!current.inFlight && !current.scheduled) {
        current.scheduled = true;
        setImmediate(() => flush(db, current));
      }
    });
  };
}
