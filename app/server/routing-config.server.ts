import { DEFAULT_ROUTING_CONFIG, RoutingConfigSchema, type RoutingConfig } from '~/domain/routing';

import type { Queryable } from './db/port.server';

export interface ActiveRoutingConfig {
  config: RoutingConfig;
  /** 0 for the built-in defaults, before any version was published. */
  version: number;
  source: 'edge-config' | 'database' | 'default';
}

const CACHE_MS = 1000;
let cached: { value: ActiveRoutingConfig; at: number } | undefined;

/**
 * The routing config the router serves: the latest published version, read at most once a
 * second per process (a publish is visible here within that second).
 */
export async function activeRoutingConfig(db: Queryable): Promise<ActiveRoutingConfig> {
  if (cached && Date.now() - cached.at < CACHE_MS) return cached.value;
  const value = await latestPublished(db);
  cached = { value, at: Date.now() };
  return value;
}

export function forgetActiveRoutingConfig(): void {
  cached = undefined;
}

export async function latestPublished(db: Queryable): Promise<ActiveRoutingConfig> {
  const [row] = await db.query<{ version: number; config: unknown }>(
    'select version, config from public.control_config_versions where published_at is not null order by version desc limit 1',
  );
  if (!row) return { config: DEFAULT_ROUTING_CONFIG, version: 0, source: 'default' };
  return { config: RoutingConfigSchema.parse(row.config), version: row.version, source: 'database' };
}
