import { createClient, parseConnectionString } from '@vercel/edge-config';

import type { RoutingConfig } from '~/domain/routing';

/** The Edge Config item the router reads: one key, so a publish is never half-applied. */
export const ROUTING_KEY = 'switchyard_routing';

export interface PublishedRouting {
  version: number;
  config: RoutingConfig;
  publishedAt: string;
}

export interface EdgeConfigStore {
  readonly configured: true;
  /** Reads the routing item through @vercel/edge-config (throws when Edge Config cannot be read). */
  read(): Promise<PublishedRouting | null>;
  /** Writes it through the Vercel REST API (PATCH items, upsert); throws with Vercel's message. */
  publish(value: PublishedRouting): Promise<void>;
}

export interface EdgeConfigSettings {
  /** EDGE_CONFIG: https://edge-config.vercel.com/ecfg_…?token=… (or a local stand-in's URL). */
  connectionString: string;
  /** A Vercel API token allowed to write this Edge Config. */
  apiToken: string;
  apiUrl?: string;
  teamId?: string;
}

export function createEdgeConfigStore(settings: EdgeConfigSettings): EdgeConfigStore {
  const connection = parseConnectionString(settings.connectionString);
  if (!connection) throw new Error('EDGE_CONFIG is not an Edge Config connection string.');
  // Our own fallback (the last version published in the database) replaces the SDK's
  // stale-if-error cache, so a failed read is visible and logged rather than silently stale.
  const client = createClient(settings.connectionString, {
    staleIfError: false,
    disableDevelopmentCache: true,
    cache: 'no-store',
  });
  const patchUrl = new URL(`/v1/edge-config/${connection.id}/items`, settings.apiUrl ?? 'https://api.vercel.com');
  if (settings.teamId) patchUrl.searchParams.set('teamId', settings.teamId);

  return {
    configured: true,
    async read() {
      return (await client.get<PublishedRouting>(ROUTING_KEY)) ?? null;
    },
    async publish(value) {
      const response = await fetch(patchUrl, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${settings.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ operation: 'upsert', key: ROUTING_KEY, value }] }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(`Vercel API answered ${response.status}: ${body?.error?.message ?? response.statusText}`);
      }
    },
  };
}
