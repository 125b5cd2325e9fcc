import type { Database } from '../db/port.server';
import type { EdgeConfigStore } from '../edge-config.server';
import { createLogger } from '../log.server';

/**
 * Read-back confirmation of a publish. Edge Config acknowledges a write before every region
 * serves it (up to about 10 s), so "published" only means the PATCH returned ok. This polls the
 * read path the router uses (the @vercel/edge-config client) until it serves the version, then
 * records `effective_at` and `propagation_ms` on it. A publish not confirmed within
 * READ_BACK_DEADLINE_MS is flagged on the Routing page (computed there, from `published_at`).
 */
export const READ_BACK_DEADLINE_MS = 30_000;
const POLL_MS = 250;

export type ReadBack =
  | { kind: 'confirmed'; version: number; effectiveAt: Date; propagationMs: number }
  /** A later version was served first: this one was overtaken, never confirmed on its own. */
  | { kind: 'superseded'; version: number; served: number }
  | { kind: 'unconfirmed'; version: number; lastServed: number | null; lastError: string | null };

const log = createLogger({ component: 'routing-read-back' });
const pending = new Map<Promise<unknown>, AbortController>();

export async function confirmPublished(
  runtime: { db: Database; edgeConfig: EdgeConfigStore | null },
  version: number,
  {
    deadlineMs = READ_BACK_DEADLINE_MS,
    pollMs = POLL_MS,
    signal,
  }: { deadlineMs?: number; pollMs?: number; signal?: AbortSignal } = {},
): Promise<ReadBack> {
  const { db, edgeConfig } = runtime;
  const [row] = await db.query<{ published_at: Date | null; effective_at: Date | null; propagation_ms: number | null }>(
    'select published_at, effective_at, propagation_ms from public.control_config_versions where version = $1',
    [version],
  );
  if (row?.effective_at)
    return { kind: 'confirmed', version, effectiveAt: row.effective_at, propagationMs: row.propagation_ms ?? 0 };
  if (!row?.published_at) return { kind: 'unconfirmed', version, lastServed: null, lastError: 'not published' };
  const publishedAt = row.published_at;
  const giveUpAt = publishedAt.getTime() + deadlineMs;
  let lastServed: number | null = null;
  let lastError: string | null = null;
  for (;;) {
    if (edgeConfig) {
      try {
        lastServed = (await edgeConfig.read())?.version ?? null;
        lastError = null;
      } catch (error) {
        lastError = (error as Error).message;
      }
    }
    if (!edgeConfig || lastServed === version) {
      const seenAt = new Date();
      const propagationMs = edgeConfig ? Math.max(0, seenAt.getTime() - publishedAt.getTime()) : 0;
      // Whoever saw it first records it (the publisher's read-back or a page load).
      await db.query(
        `update public.control_config_versions set effective_at = $2, propagation_ms = $3
         where version = $1 and effective_at is null`,
        [version, seenAt, propagationMs],
      );
      const [recorded] = await db.query<{ effective_at: Date; propagation_ms: number }>(
        'select effective_at, propagation_ms from public.control_config_versions where version = $1',
        [version],
      );
      return {
        kind: 'confirmed',
        version,
        effectiveAt: recorded.effective_at,
        propagationMs: recorded.propagation_ms,
      };
    }
    if (lastServed !== null && lastServed > version) return { kind: 'superseded', version, served: lastServed };
    if (Date.now() + pollMs > giveUpAt || signal?.aborted)
      return { kind: 'unconfirmed', version, lastServed, lastError };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Starts the read-back without waiting for it (after a publish); failures are logged. */
export function confirmInBackground(runtime: { db: Database; edgeConfig: EdgeConfigStore | null }, version: number) {
  const stop = new AbortController();
  const work = confirmPublished(runtime, version, { signal: stop.signal })
    .then((result) => {
      if (result.kind === 'unconfirmed' && !stop.signal.aborted)
        log.warn('Edge Config did not serve a published routing version in time', {
          version,
          lastServed: result.lastServed,
          error: result.lastError,
        });
    })
    .catch((error: Error) => log.warn('routing read-back failed', { version, error: error.message }))
    .finally(() => pending.delete(work));
  pending.set(work, stop);
}

/** Stops the read-backs this process started and waits for them (tests, before dropping their database). */
export async function stopReadBacks(): Promise<void> {
  while (pending.size > 0) {
    for (const stop of pending.values()) stop.abort();
    await Promise.allSettled([...pending.keys()]);
  }
}
