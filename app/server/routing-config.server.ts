import { DEFAULT_ROUTING_CONFIG, RoutingConfigSchema, type RoutingConfig } from '~/domain/routing';

import type { Database, Queryable } from './db/port.server';
import type { EdgeConfigStore } from './edge-config.server';
import { createLogger } from './log.server';
import { refreshingCache } from './refreshing-cache.server';

export interface ActiveRoutingConfig {
  config: RoutingConfig;
  /** 0 for the built-in defaults, before any version was published. */
  version: number;
  source: 'edge-config' | 'database' | 'default';
  publishedAt: string | null;
  /** Why Edge Config was not used, when it is configured but could not be read. */
  readError?: string;
}

const DEFAULT_ACTIVE: ActiveRoutingConfig = {
  config: DEFAULT_ROUTING_CONFIG,
  version: 0,
  source: 'default',
  publishedAt: null,
};

const log = createLogger({ component: 'router' });

const cached = refreshingCache({
  keyOf: (runtime: { db: Database; edgeConfig: EdgeConfigStore | null }) => runtime.db,
  read: readActive,
  freshMs: 1000,
  staleMs: 5000,
  onRefreshError: (error) =>
    log.warn('the routing config could not be read; the last one read is served', { error: error.message }),
});

/**
 * The routing config the router serves: read from Edge Config when it is configured, else the
 * latest version published in the database; when Edge Config cannot be read, the database's
 * last published version (last known good), and the failure is logged. Kept for a second per
 * process, then refreshed by one read while the others are answered with the value it
 * replaces (`refreshingCache`): a publish is visible here about a second after Edge Config
 * serves it.
 */
export function activeRoutingConfig(runtime: {
  db: Database;
  edgeConfig: EdgeConfigStore | null;
}): Promise<ActiveRoutingConfig> {
  return cached.get(runtime);
}

export function forgetActiveRoutingConfig(db: Database): void {
  cached.forget(db);
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
  if (!row) return DEFAULT_ACTIVE;
  return {
    config: RoutingConfigSchema.parse(row.config),
    version: row.version,
    source: 'database',
    publishedAt: row.published_at.toISOString(),
  };
}
