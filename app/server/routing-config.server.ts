import { DEFAULT_ROUTING_CONFIG, RoutingConfigSchema, type RoutingConfig } from '~/domain/routing';

import type { Database, Queryable } from './db/port.server';
import type { EdgeConfigStore } from './edge-config.server';
import { createLogger } from './log.server';

export interface ActiveRoutingConfig {
  config: RoutingConfig;
  /** 0 for the built-in defaults, before any version was published. */
  version: number;
  source: 'edge-config' | 'database' | 'default';
  publishedAt: string | null;
  /** Why Edge Config was not used, when it is configured but could not be read. */
  readError?: string;
}

const CACHE_MS = 1000;
const cache = new WeakMap<Database, { value: ActiveRoutingConfig; at: number }>();
const log = createLogger({ component: 'router' });

/**
 * The routing config the router serves: read from Edge Config when it is configured, else the
 * latest version published in the database; when Edge Config cannot be read, the database's
 * last published version (last known good), and the failure is logged. Kept for a second per
 * process: a publish is visible here within a second of Edge Config serving it.
 */
export async function activeRoutingConfig(runtime: {
  db: Database;
  edgeConfig: EdgeConfigStore | null;
}): Promise<ActiveRoutingConfig> {
  const hit = cache.get(runtime.db);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
  const value = await readActive(runtime);
  cache.set(runtime.db, { value, at: Date.now() });
  return value;
}

export function forgetActiveRoutingConfig(db: Database): void {
  cache.delete(db);
}

async function readActive(runtime: { db: Database; edgeConfig: EdgeConfigStore | null }): Promise<ActiveRoutingConfig> {
  if (runtime.edgeConfig) {
    try {
      const published = await runtime.edgeConfig.read();
      if (published) {
        return {
          config: RoutingConfigSchema.parse(published.config),
          version: published.version,
          source: 'edge-config',
          publishedAt: published.publishedAt,
        };
      }
    } catch (error) {
      const readError = (error as Error).message;
      log.warn('Edge Config could not be read; serving the last version published in the database', {
        error: readError,
      });
      return { ...(await latestPublished(runtime.db)), readError };
    }
  }
  return latestPublished(runtime.db);
}

export async function latestPublished(db: Queryable): Promise<ActiveRoutingConfig> {
  const [row] = await db.query<{ version: number; config: unknown; published_at: Date }>(
    'select version, config, published_at from public.control_config_versions where published_at is not null order by published_at desc, version desc limit 1',
  );
  if (!row) return { config: DEFAULT_ROUTING_CONFIG, version: 0, source: 'default', publishedAt: null };
  return {
    config: RoutingConfigSchema.parse(row.config),
    version: row.version,
    source: 'database',
    publishedAt: row.published_at.toISOString(),
  };
}
