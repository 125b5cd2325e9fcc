import type { ResponseCache } from '~/edge/response-cache';

import { auditMany } from './audit.server';
import type { Queryable } from './db/port.server';
import type { AppEnv } from './env.server';

/** Vercel's REST endpoint that marks cache tags stale (docs: /docs/rest-api/edge-cache/invalidate-by-tag). */
export const INVALIDATE_BY_TAGS_PATH = '/v1/edge-cache/invalidate-by-tags';

/** How many outbox rows one drain sends in one request, and the backoff cap between tries. */
const BATCH_ROWS = 50;
const MAX_BACKOFF_SECONDS = 300;
/** A claimed row is invisible to other drains this long (a drain that died is retried after). */
const CLAIM_SECONDS = 30;

export interface TagInvalidator {
  /** Where the invalidation goes, for the audit trail. */
  readonly target: 'vercel' | 'local';
  invalidate(tags: string[]): Promise<void>;
}

/**
 * Vercel's invalidate-by-tag over REST (`@vercel/functions`' `invalidateByTag` does the same from
 * inside a Vercel Function): `POST /v1/edge-cache/invalidate-by-tags?projectIdOrName=…` with a
 * bearer token. Null when Vercel is not configured (then only the local cache is invalidated).
 */
export function vercelTagInvalidator(
  env: Pick<AppEnv, 'VERCEL_API_TOKEN' | 'VERCEL_API_URL' | 'VERCEL_TEAM_ID' | 'VERCEL_PROJECT_ID'>,
  fetchImpl: typeof fetch = fetch,
): TagInvalidator | null {
  if (!env.VERCEL_API_TOKEN || !env.VERCEL_PROJECT_ID) return null;
  const url = new URL(INVALIDATE_BY_TAGS_PATH, env.VERCEL_API_URL);
  url.searchParams.set('projectIdOrName', env.VERCEL_PROJECT_ID);
  if (env.VERCEL_TEAM_ID) url.searchParams.set('teamId', env.VERCEL_TEAM_ID);
  return {
    target: 'vercel',
    async invalidate(tags) {
      const response = await fetchImpl(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${env.VERCEL_API_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ tags, target: 'production' }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        throw new Error(`Vercel invalidate-by-tags answered ${response.status}: ${text.slice(0, 200)}`);
      }
    },
  };
}

export interface DrainResult {
  sent: number;
  failed: number;
  tags: string[];
}

/**
 * Sends the pending rows of `cache_invalidations` (written by triggers with the change that
 * staled the answers): claims a batch (SKIP LOCKED, so concurrent drains never send a row
 * twice at once), invalidates the local cache, calls Vercel, then marks the rows sent, or
 * records the error and retries later with exponential backoff. Every attempt is audited.
 */
export async function drainCacheInvalidations(
  db: Queryable,
  options: { remote: TagInvalidator | null; localCache?: ResponseCache | null },
): Promise<DrainResult> {
  const rows = await db.query<{ id: number; tags: string[]; attempts: number; reason: string }>(
    `with picked as (
       select id from public.cache_invalidations
       where sent_at is null and next_attempt_at <= now()
       order by id limit $1
       for update skip locked
     )
     update public.cache_invalidations c
     set attempts = c.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
     from picked where c.id = picked.id
     returning c.id, c.tags, c.attempts, c.reason`,
    [BATCH_ROWS, CLAIM_SECONDS],
  );
  if (rows.length === 0) return { sent: 0, failed: 0, tags: [] };
  const tags = [...new Set(rows.flatMap((row) => row.tags))].sort();
  const ids = rows.map((row) => Number(row.id));
  options.localCache?.invalidate(tags);
  let error: string | null = null;
  try {
    await options.remote?.invalidate(tags);
  } catch (thrown) {
    error = (thrown as Error).message;
  }
  if (error === null) {
    await db.query(
      'update public.cache_invalidations set sent_at = now(), last_error = null where id = any($1::bigint[])',
      [ids],
    );
  } else {
    await db.query(
      `update public.cache_invalidations
       set last_error = $2, next_attempt_at = now() + make_interval(secs => least(power(2, attempts), $3))
       where id = any($1::bigint[])`,
      [ids, error, MAX_BACKOFF_SECONDS],
    );
  }
  await auditMany(
    db,
    rows.map((row) => ({
      actor: 'system:cache',
      action: error === null ? 'cache.invalidated' : 'cache.invalidation_failed',
      targetType: 'cache_invalidation',
      targetId: String(row.id),
      detail: {
        tags: row.tags,
        reason: row.reason,
        attempt: row.attempts,
        target: options.remote?.target ?? 'local',
        ...(error ? { error } : {}),
      },
    })),
  );
  return error === null ? { sent: rows.length, failed: 0, tags } : { sent: 0, failed: rows.length, tags };
}

const LOCAL_CACHE = Symbol.for('switchyard.responseCache');
type Holder = { [LOCAL_CACHE]?: ResponseCache };

/** The in-process response cache `npm start` serves through (none on Vercel: its CDN is the cache). */
export function installLocalResponseCache(cache: ResponseCache | null): void {
  (globalThis as Holder)[LOCAL_CACHE] = cache ?? undefined;
}

export function localResponseCache(): ResponseCache | null {
  return (globalThis as Holder)[LOCAL_CACHE] ?? null;
}

/** Drains the outbox with this process's configuration: Vercel when set, and the local cache. */
export function drainWithRuntime(runtime: { db: Queryable; env: AppEnv }): Promise<DrainResult> {
  return drainCacheInvalidations(runtime.db, {
    remote: vercelTagInvalidator(runtime.env),
    localCache: localResponseCache(),
  });
}
