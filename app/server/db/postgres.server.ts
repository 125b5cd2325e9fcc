import pg from 'pg';

import { randomUUID } from 'node:crypto';

import { createLogger } from '../log.server';
import { LISTENER_POLL_INTERVAL_MS, type Database, type ListenerState, type Queryable } from './port.server';

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
  /**
   * The LISTEN connection's URL (DATABASE_LISTEN_URL); default `connectionString`. It must be a
   * session-mode or direct connection: a transaction-mode pooler cannot carry LISTEN.
   */
  listenConnectionString?: string;
  poolSize?: number;
  applicationName?: string;
}

/** Where PostgreSQL is, as both processes configure it (env.server.ts, worker/env.ts). */
export interface PostgresSettings {
  DATABASE_URL: string;
  DATABASE_LISTEN_URL?: string;
  DATABASE_POOL_SIZE: number;
}

/** PostgreSQL from configuration: the app (through `openDatabase`) and the worker open it here. */
export function openPostgresFrom(settings: PostgresSettings, applicationName?: string): Database {
  return openPostgres({
    connectionString: settings.DATABASE_URL,
    listenConnectionString: settings.DATABASE_LISTEN_URL,
    poolSize: settings.DATABASE_POOL_SIZE,
    applicationName,
  });
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

  const listener = createListener({
    connectionString: options.listenConnectionString ?? options.connectionString,
    applicationName: options.applicationName ?? 'switchyard',
    notify: async (channel, payload) => {
      await pool.query('select pg_notify($1, $2)', [channel, payload]);
    },
  });

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
    listenerState: listener.state,
    onListenerChange: listener.onChange,
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

/** Reconnect backoff: 100 ms doubling to a 2 s cap, so a listener is back within ~2 s of recovery. */
const RECONNECT_BASE_MS = 100;
const RECONNECT_CAP_MS = 2_000;
/** How long the start-up probe waits for its own NOTIFY before declaring LISTEN deaf. */
const PROBE_TIMEOUT_MS = 2_000;
/** A query on the listen connection this often notices a silently dead TCP path. */
const LIVENESS_INTERVAL_MS = 15_000;
const LIVENESS_TIMEOUT_MS = 5_000;

interface ListenerOptions {
  connectionString: string;
  applicationName: string;
  /** Sends a NOTIFY the way real ones are sent: from another connection (the pool). */
  notify: (channel: string, payload: string) => Promise<void>;
}

/**
 * One dedicated connection carries every LISTEN of this process. When it drops it reconnects
 * forever, with capped exponential backoff and jitter, and LISTENs again on every channel.
 * A NOTIFY sent while it was down is lost, so every reconnect is announced to
 * `onListenerChange` subscribers, who catch up from the database (notifications only nudge).
 * After each connect a probe NOTIFY checks that notifications really arrive: through a
 * transaction-mode pooler LISTEN is accepted but nothing is ever delivered.
 */
function createListener(options: ListenerOptions) {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const subscribers = new Set<(state: ListenerState, reconnected: boolean) => void>();
  const log = createLogger({ component: 'database-listener' });
  let state: ListenerState = {
    connection: 'idle',
    mode: 'checking',
    since: new Date(),
    lastError: null,
    reconnects: 0,
  };
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let liveness: ReturnType<typeof setInterval> | undefined;
  let failures = 0;
  let everConnected = false;
  let closed = false;
  const probes = new Map<string, () => void>();

  function setState(change: Partial<ListenerState>, reconnected = false) {
    const next = { ...state, ...change };
    if (next.connection !== state.connection) next.since = new Date();
    state = next;
    for (const subscriber of subscribers) {
      try {
        subscriber({ ...state }, reconnected);
      } catch (error) {
        log.error('listener subscriber failed', { error: String(error) });
      }
    }
  }

  async function connect(): Promise<pg.Client> {
    const next = new pg.Client({
      connectionString: options.connectionString,
      application_name: `${options.applicationName}-listen`,
      keepAlive: true,
    });
    next.on('notification', (message) => {
      const probe = probes.get(message.channel);
      if (probe) return probe();
      for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    // Errors of a client that is not (or no longer) the current one are already handled by
    // whoever is connecting it; only the current client's loss starts the reconnect loop.
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next, new Error('connection ended')));
    try {
      await next.connect();
      for (const channel of handlers.keys()) await next.query(`listen ${quoteIdentifier(channel)}`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      throw new Error('listener closed');
    }
    client = next;
    failures = 0;
    // Also after a start with the database unreachable: what was sent meanwhile is lost.
    const reconnected = everConnected || state.connection === 'reconnecting';
    everConnected = true;
    setState(
      { connection: 'connected', mode: 'checking', reconnects: state.reconnects + (reconnected ? 1 : 0) },
      reconnected,
    );
    if (reconnected) log.info('listener reconnected; subscribers catch up on what they missed');
    void probeDelivery(next);
    return next;
  }

  function lost(dead: pg.Client, error: Error) {
    if (closed || client !== dead) return;
    client = undefined;
    dead.removeAllListeners('notification');
    void dead.end().catch(() => undefined);
    log.warn('listener connection lost; reconnecting', { error: error.message });
    setState({ connection: 'reconnecting', lastError: error.message });
    scheduleRetry();
  }

  function scheduleRetry() {
    if (closed || retryTimer || connecting || client) return;
    // "Equal jitter": half the delay fixed, half random, so processes cut off together do not
    // all come back in the same millisecond.
    const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** failures);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    failures += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      ensureConnected().catch((error: Error) => {
        setState({ connection: 'reconnecting', lastError: error.message });
        scheduleRetry();
      });
    }, delay);
    retryTimer.unref();
  }

  function ensureConnected(): Promise<pg.Client> {
    if (client) return Promise.resolve(client);
    connecting ??= connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  /** Sends a NOTIFY on a private channel through the pool and waits for it on `listening`. */
  async function probeDelivery(listening: pg.Client) {
    const channel = `switchyard_probe_${randomUUID().replaceAll('-', '')}`;
    let delivered: boolean;
    try {
      const arrived = new Promise<void>((resolve) => probes.set(channel, resolve));
      await listening.query(`listen ${quoteIdentifier(channel)}`);
      await options.notify(channel, 'probe');
      delivered = await Promise.race([
        arrived.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), PROBE_TIMEOUT_MS).unref()),
      ]);
      await listening.query(`unlisten ${quoteIdentifier(channel)}`).catch(() => undefined);
    } catch (error) {
      // The pool or this connection failed mid-probe: try again while this connection is
      // current (if it died, the reconnect loop probes its successor).
      log.warn('listener probe could not run; trying again', { error: String(error) });
      setTimeout(() => {
        if (client === listening) void probeDelivery(listening);
      }, 1_000).unref();
      return;
    } finally {
      probes.delete(channel);
    }
    if (client !== listening) return;
    if (!delivered) {
      log.error(
        'LISTEN does not deliver notifications on this connection (a transaction-mode pooler cannot carry LISTEN). ' +
          `Polling every ${LISTENER_POLL_INTERVAL_MS} ms instead. Set DATABASE_LISTEN_URL to a session-mode or direct connection.`,
      );
    }
    setState({ mode: delivered ? 'listen' : 'polling' });
  }

  /** A query with a deadline: a TCP path that died without a reset is noticed and replaced. */
  function checkLiveness() {
    const current = client;
    if (!current) return;
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('listener connection stopped answering')), LIVENESS_TIMEOUT_MS).unref(),
    );
    Promise.race([current.query('select 1'), timeout]).catch((error: Error) => lost(current, error));
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
      liveness ??= setInterval(checkLiveness, LIVENESS_INTERVAL_MS);
      liveness.unref();
      try {
        const connected = await ensureConnected();
        if (isNewChannel) await connected.query(`listen ${quoteIdentifier(channel)}`);
      } catch (error) {
        // The database is unreachable now: subscribe anyway and keep trying; the state says
        // `reconnecting`, so callers poll until it is back.
        if (!client) {
          setState({ connection: 'reconnecting', lastError: (error as Error).message });
          scheduleRetry();
        }
      }
      return async () => {
        channelHandlers.delete(onPayload);
        if (channelHandlers.size === 0 && handlers.get(channel) === channelHandlers) {
          handlers.delete(channel);
          await client?.query(`unlisten ${quoteIdentifier(channel)}`).catch(() => undefined);
        }
      };
    },
    state: () => ({ ...state }),
    onChange(subscriber: (state: ListenerState, reconnected: boolean) => void) {
      subscribers.add(subscriber);
      return () => void subscribers.delete(subscriber);
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(liveness);
      handlers.clear();
      subscribers.clear();
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
