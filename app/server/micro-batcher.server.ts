import type { Queryable } from './db/port.server';

/** One caller's item waiting in a micro-batch, and how to answer that caller. */
export interface Waiting<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

interface State<Item, Result> {
  waiting: Waiting<Item, Result>[];
  timer: NodeJS.Timeout | null;
  immediate: NodeJS.Immediate | null;
  inFlight: number;
}

/**
 * Groups the calls of one process into shared transactions (ADR 0021): with nothing in flight on
 * a database, the items go at once (after the current event-loop turn, which gathers a burst);
 * while a batch is in flight, those that arrive wait at most `lingerMs`, or until `max` wait, and
 * go together. `send` answers each item of its batch after its transaction committed; an item it
 * leaves unanswered is refused, so no caller is left hanging, and an error it throws refuses the
 * batch's unanswered items.
 */
export function microBatcher<Item, Result>(options: {
  max: number;
  lingerMs: number;
  send: (db: Queryable, batch: Waiting<Item, Result>[]) => Promise<void>;
  /** What an item left unanswered is refused with. */
  unanswered: string;
}): (db: Queryable, item: Item) => Promise<Result> {
  const states = new WeakMap<Queryable, State<Item, Result>>();

  const sendSafely = async (db: Queryable, batch: Waiting<Item, Result>[]) => {
    const settled = new Set<Waiting<Item, Result>>();
    const tracked = batch.map((waiting) => ({
      item: waiting.item,
      resolve: (result: Result) => {
        settled.add(waiting);
        waiting.resolve(result);
      },
      reject: (error: unknown) => {
        settled.add(waiting);
        waiting.reject(error);
      },
    }));
    let failure: unknown = new Error(options.unanswered);
    try {
      await options.send(db, tracked);
    } catch (error) {
      failure = error;
    }
    for (const waiting of batch) if (!settled.has(waiting)) waiting.reject(failure);
  };

  const flush = (db: Queryable, state: State<Item, Result>) => {
    if (state.timer) clearTimeout(state.timer);
    if (state.immediate) clearImmediate(state.immediate);
    state.timer = null;
    state.immediate = null;
    while (state.waiting.length > 0) {
      const batch = state.waiting.splice(0, options.max);
      state.inFlight += 1;
      void sendSafely(db, batch).finally(() => {
        state.inFlight -= 1;
      });
    }
  };

  return (db, item) => {
    let state = states.get(db);
    if (!state) {
      state = { waiting: [], timer: null, immediate: null, inFlight: 0 };
      states.set(db, state);
    }
    const current = state;
    return new Promise<Result>((resolve, reject) => {
      current.waiting.push({ item, resolve, reject });
      if (current.waiting.length >= options.max) flush(db, current);
      else if (current.inFlight === 0) current.immediate ??= setImmediate(() => flush(db, current));
      else current.timer ??= setTimeout(() => flush(db, current), options.lingerMs);
    });
  };
}
