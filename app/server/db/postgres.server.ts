import pg from 'pg';

import type { Database, Queryable } from './port.server';

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const DATE_OID = 1082;

// Micro-dollar sums and counts fit easily in a double (2^53 micro-dollars is $9 billion),
// so int8 and numeric come back as numbers, as they do from PGlite; dates as 'YYYY-MM-DD'.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    // A calendar date stays '2026-11-28': as a Date it would shift with the server's time zone.
    if (oid === DATE_OID) return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PostgresOptions {
  connectionString: string;
  poolSize?: number;
  applicationName?: string;
}

/**
 * PostgreSQL over TCP through a pool. Works through Supabase's pooler in transaction mode
 * because every query is a single round trip or runs inside `transaction()` on one client;
 * LISTEN uses its own dedicated connection (use a direct or session-mode URL for it).
 */
export function openPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'switchyard',
    types,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) =>
    console.error(JSON.stringify({ level: 'warn', msg: 'idle database client error', error: error.message })),
  );

  const listener = createListener(options);

  return {
    kind: 'postgres',
    async query<Row>(sql: string, params?: readonly unknown[]) {
      const result = await pool.query(sql, params as unknown[] | undefined);
      return result.rows as Row[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(work: (tx: Queryable) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await work(clientQueryable(client));
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    listen: listener.listen,
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

function clientQueryable(client: pg.PoolClient): Queryable {
  return {
    async query<Row>(sql: string, params?: readonly unknown[]) {
      const result = await client.query(sql, params as unknown[] | undefined);
      return result.rows as Row[];
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

/**
 * One dedicated connection carries every LISTEN of this process. If it drops, it reconnects
 * with backoff and listens again; a NOTIFY sent while it was down is lost, which is why
 * notifications only ever nudge (the database stays the source of truth).
 */
function createListener(options: PostgresOptions) {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  let retryDelayMs = 100;

  async function connect(): Promise<pg.Client> {
    const next = new pg.Client({
      connectionString: options.connectionString,
      application_name: `${options.applicationName ?? 'switchyard'}-listen`,
    });
    next.on('notification', (message) => {
      for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    next.on('error', () => reconnect(next));
    next.on('end', () => reconnect(next));
    await next.connect();
    for (const channel of handlers.keys()) await next.query(`listen ${quoteIdentifier(channel)}`);
    retryDelayMs = 100;
    client = next;
    return next;
  }

  function reconnect(dead: pg.Client) {
    if (closed || client !== dead) return;
    client = undefined;
    connecting = undefined;
    const delay = retryDelayMs;
    retryDelayMs = Math.min(retryDelayMs * 2, 5000);
    setTimeout(() => {
      if (!closed && handlers.size > 0) ensureConnected().catch(() => reconnect(dead));
    }, delay).unref();
  }

  function ensureConnected(): Promise<pg.Client> {
    if (client) return Promise.resolve(client);
    connecting ??= connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  return {
    async listen(channel: string, onPayload: (payload: string) => void) {
      let channelHandlers = handlers.get(channel);
      const isNewChannel = !channelHandlers;
      if (!channelHandlers) {
        channelHandlers = new Set();
        handlers.set(channel, channelHandlers);
      }
      channelHandlers.add(onPayload);
      const connected = await ensureConnected();
      if (isNewChannel) await connected.query(`listen ${quoteIdentifier(channel)}`);
      return async () => {
        channelHandlers.delete(onPayload);
        if (channelHandlers.size === 0) {
          handlers.delete(channel);
          await client?.query(`unlisten ${quoteIdentifier(channel)}`).catch(() => undefined);
        }
      };
    },
    async close() {
      closed = true;
      handlers.clear();
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
