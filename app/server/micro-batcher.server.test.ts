import type { Queryable } from './db/port.server';
import { microBatcher, type Waiting } from './micro-batcher.server';

/** A database handle only as the batcher's key: `send` below never queries it. */
const db = {} as Queryable;

describe('microBatcher', () => {
  it('sends a burst of one event-loop turn together, splits it at max, and answers each caller', async () => {
    const batches: number[][] = [];
    const double = microBatcher<number, number>({
      max: 3,
      lingerMs: 2,
      unanswered: 'no answer',
      send: async (_db, batch) => {
        batches.push(batch.map((w) => w.item));
        for (const waiting of batch) waiting.resolve(waiting.item * 2);
      },
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => double(db, n)));
    expect(results).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('gathers what arrives while a batch is in flight into the next one', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const echo = microBatcher<string, string>({
      max: 32,
      lingerMs: 2,
      unanswered: 'no answer',
      send: async (_db, batch) => {
        batches.push(batch.map((w) => w.item));
        if (batches.length === 1) await first;
        for (const waiting of batch) waiting.resolve(waiting.item);
      },
    });
    const a = echo(db, 'a');
    await new Promise((resolve) => setImmediate(resolve));
    const later = ['b', 'c', 'd'].map((item) => echo(db, item));
    release();
    expect(await Promise.all([a, ...later])).toEqual(['a', 'b', 'c', 'd']);
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('refuses an item its batch left unanswered, and the rest of a batch whose send threw, without hanging', async () => {
    const partial = microBatcher<number, number>({
      max: 32,
      lingerMs: 2,
      unanswered: 'the batch function returned no row for this item',
      send: async (_db, batch: Waiting<number, number>[]) => {
        for (const waiting of batch) if (waiting.item !== 2) waiting.resolve(waiting.item);
      },
    });
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => partial(db, n)));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      1,
      'the batch function returned no row for this item',
      3,
    ]);

    const failing = microBatcher<number, number>({
      max: 32,
      lingerMs: 2,
      unanswered: 'no answer',
      send: async (_db, batch) => {
        batch[0].resolve(0);
        throw new Error('connection lost');
      },
    });
    const settled = await Promise.allSettled([1, 2].map((n) => failing(db, n)));
    expect(settled.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      0,
      'connection lost',
    ]);
  });
});
