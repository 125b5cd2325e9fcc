import { PGlite, types } from '@electric-sql/pglite';

import type { Database, ListenerState, Queryable } from './port.server';

/** int8 and numeric as numbers, dates as 'YYYY-MM-DD', matching the PostgreSQL adapter. */
const parsers = {
  [types.INT8]: (value: string) => Number(value),
  [types.NUMERIC]: (value: string) => Number(value),
  [types.DATE]: (value: string) => value,
};

/**
 * PGlite: real PostgreSQL compiled to WebAssembly, in this process, one connection.
 * `dataDir` persists to files (the embedded default keeps it under `.data/`); without it the
 * database lives in memory. Queries are serialised by PGlite itself, and a query issued while
 * a transaction is open waits for it, so the port's contract holds.
 */
export async function openPglite(dataDir?: string, loadDataDir?: Blob): Promise<Database> {
  const db = await PGlite.create({ dataDir, parsers, loadDataDir });
  return wrapPglite(db);
}

export function wrapPglite(db: PGlite): Database {
  const asQueryable = (target: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<Row>(sql: string, params?: readonly unknown[]) {
      const result = await target.query<Row>(sql, params as unknown[] | undefined);
      return result.rows;
    },
    async exec(sql: string) {
      await target.exec(sql);
    },
  });

  // In-process: notifications cannot be lost on the way, so the listener is always up.
  const listener: ListenerState = {
    connection: 'connected',
    mode: 'listen',
    since: new Date(),
    lastError: null,
    reconnects: 0,
  };

  return {
    kind: 'pglite',
    ...asQueryable(db),
    transaction<T>(work: (tx: Queryable) => Promise<T>) {
      return db.transaction((tx) => work(asQueryable(tx)));
    },
    async listen(channel: string, onPayload: (payload: string) => void) {
      const unsubscribe = await db.listen(channel, onPayload);
      return async () => unsubscribe();
    },
    listenerState: () => ({ ...listener }),
    onListenerChange: () => () => undefined,
    async close() {
      if (!db.closed) await db.close();
    },
  };
}
