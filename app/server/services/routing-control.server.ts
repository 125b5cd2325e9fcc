import { diffConfigs, type ConfigChange } from '~/domain/config-diff';
import { fieldErrors } from '~/domain/submit-schemas';
import { DEFAULT_ROUTING_CONFIG, RoutingConfigSchema, type RoutingConfig } from '~/domain/routing';

import { audit } from '../audit.server';
import type { Database, Queryable } from '../db/port.server';
import { activeRoutingConfig, forgetActiveRoutingConfig } from '../routing-config.server';
import type { Runtime } from '../runtime.server';

/**
 * Routing config is append-only: every change is a new version with its author, comment and
 * diff; publishing writes one version to Edge Config (or, without it, marks it live in the
 * database); reverting publishes a copy of an earlier version as a new one.
 */

export interface ConfigVersion {
  version: number;
  config: RoutingConfig;
  author: string;
  comment: string;
  diff: ConfigChange[];
  revertedFrom: number | null;
  createdAt: Date;
  publishedAt: Date | null;
  publishError: string | null;
}

/** Serialises version numbering between concurrent saves (an arbitrary constant). */
const VERSION_LOCK = 7_420_062;

export type SaveResult =
  { ok: true; version: number; diff: ConfigChange[] } | { ok: false; fields: Record<string, string[]> };

export async function saveRoutingVersion(
  db: Database,
  actor: string,
  candidate: unknown,
  comment: string,
  revertedFrom: number | null = null,
): Promise<SaveResult> {
  const parsed = RoutingConfigSchema.safeParse(candidate);
  if (!parsed.success) return { ok: false, fields: fieldErrors(parsed.error) };
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [VERSION_LOCK]);
    const [previous] = await tx.query<{ version: number; config: RoutingConfig }>(
      'select version, config from public.control_config_versions order by version desc limit 1',
    );
    const diff = diffConfigs(previous?.config ?? DEFAULT_ROUTING_CONFIG, parsed.data);
    const version = (previous?.version ?? 0) + 1;
    await tx.query(
      `insert into public.control_config_versions (version, config, author, comment, diff, reverted_from)
       values ($1, $2, $3, $4, $5, $6)`,
      [version, parsed.data, actor, comment, JSON.stringify(diff), revertedFrom],
    );
    await audit(tx, {
      actor,
      action: 'routing.save',
      targetType: 'config_version',
      targetId: String(version),
      detail: { comment, changes: diff.length },
    });
    return { ok: true as const, version, diff };
  });
}

export type PublishResult =
  | { ok: true; version: number; store: 'edge-config' | 'database'; message: string }
  /** status: 404 no such version, 409 it no longer validates, 502 Edge Config refused it. */
  | { ok: false; version: number; message: string; status: 404 | 409 | 502 };

/** Publishes a saved version. A failure is recorded on the version and can be retried. */
export async function publishRoutingVersion(
  runtime: Pick<Runtime, 'db' | 'edgeConfig'>,
  actor: string,
  version: number,
): Promise<PublishResult> {
  const { db, edgeConfig } = runtime;
  const [row] = await db.query<{ config: RoutingConfig }>(
    'select config from public.control_config_versions where version = $1',
    [version],
  );
  if (!row) return { ok: false, version, message: `There is no version ${version}.`, status: 404 };
  const publishedAt = new Date();
  if (edgeConfig) {
    try {
      await edgeConfig.publish({ version, config: row.config, publishedAt: publishedAt.toISOString() });
    } catch (error) {
      const message = (error as Error).message;
      await db.transaction(async (tx) => {
        await tx.query('update public.control_config_versions set publish_error = $2 where version = $1', [
          version,
          message,
        ]);
        await audit(tx, {
          actor,
          action: 'routing.publish_failed',
          targetType: 'config_version',
          targetId: String(version),
          detail: { error: message },
        });
      });
      return {
        ok: false,
        version,
        message: `Version ${version} was not published: ${message}. It is saved; publish it again to retry.`,
        status: 502,
      };
    }
  }
  await db.transaction(async (tx) => {
    await tx.query(
      'update public.control_config_versions set published_at = $2, publish_error = null where version = $1',
      [version, publishedAt],
    );
    await audit(tx, {
      actor,
      action: 'routing.publish',
      targetType: 'config_version',
      targetId: String(version),
      detail: { store: edgeConfig ? 'edge-config' : 'database' },
    });
  });
  forgetActiveRoutingConfig(db);
  return edgeConfig
    ? {
        ok: true,
        version,
        store: 'edge-config',
        message: `Version ${version} published to Edge Config; every region serves it within about 10 seconds.`,
      }
    : {
        ok: true,
        version,
        store: 'database',
        message: `Version ${version} is live. Edge Config is not configured, so the router reads it from the database.`,
      };
}

/** Publishes an earlier version again, as a new version, in one action. */
export async function revertToVersion(
  runtime: Pick<Runtime, 'db' | 'edgeConfig'>,
  actor: string,
  version: number,
): Promise<PublishResult> {
  const [row] = await runtime.db.query<{ config: RoutingConfig }>(
    'select config from public.control_config_versions where version = $1',
    [version],
  );
  if (!row) return { ok: false, version, message: `There is no version ${version}.`, status: 404 };
  const saved = await saveRoutingVersion(runtime.db, actor, row.config, `Revert to version ${version}`, version);
  if (!saved.ok) return { ok: false, version, message: 'That version no longer validates.', status: 409 };
  return publishRoutingVersion(runtime, actor, saved.version);
}

export async function listRoutingVersions(db: Queryable, limit = 50): Promise<ConfigVersion[]> {
  const rows = await db.query<{
    version: number;
    config: RoutingConfig;
    author: string;
    comment: string;
    diff: ConfigChange[];
    reverted_from: number | null;
    created_at: Date;
    published_at: Date | null;
    publish_error: string | null;
  }>('select * from public.control_config_versions order by version desc limit $1', [limit]);
  return rows.map((row) => ({
    version: row.version,
    config: row.config,
    author: row.author,
    comment: row.comment,
    diff: row.diff,
    revertedFrom: row.reverted_from,
    createdAt: row.created_at,
    publishedAt: row.published_at,
    publishError: row.publish_error,
  }));
}

/** What the Routing page asks for. */
export type RoutingChange =
  | { kind: 'save'; config: unknown; comment: string; publish: boolean }
  | { kind: 'publish'; version: number }
  | { kind: 'revert'; version: number }
  | { kind: 'kill_switch'; hybridEnabled: boolean; comment: string };

export type RoutingChangeResult =
  | { ok: true; kind: 'saved' | 'published'; version: number; message: string }
  | { ok: false; kind: 'invalid'; message: string; fields?: Record<string, string[]> }
  /** Saved (or never there) but not live: status 404 no such version, 409 no longer valid, 502 Edge Config refused. */
  | { ok: false; kind: 'not_published'; version: number; message: string; status: 404 | 409 | 502 };

function published(result: PublishResult, prefix = ''): RoutingChangeResult {
  const message = prefix + result.message;
  return result.ok
    ? { ok: true, kind: 'published', version: result.version, message }
    : { ok: false, kind: 'not_published', version: result.version, message, status: result.status };
}

/**
 * Changing the routing, as one use case: save a draft (and publish it), publish or revert to a
 * version, or flip the kill switch (a new version of the newest config with only
 * `hybridEnabled` changed, published at once). Every change is a new version.
 */
export async function changeRouting(
  runtime: Pick<Runtime, 'db' | 'edgeConfig'>,
  actor: string,
  change: RoutingChange,
): Promise<RoutingChangeResult> {
  if (change.kind === 'publish' || change.kind === 'revert') {
    const publishOrRevert = change.kind === 'publish' ? publishRoutingVersion : revertToVersion;
    return published(await publishOrRevert(runtime, actor, change.version));
  }

  if (change.kind === 'kill_switch') {
    const [newest] = await listRoutingVersions(runtime.db, 1);
    const base = newest?.config ?? (await activeRoutingConfig(runtime)).config;
    const enable = change.hybridEnabled;
    const saved = await saveRoutingVersion(
      runtime.db,
      actor,
      { ...base, hybridEnabled: enable },
      change.comment || (enable ? 'Kill switch off: hybrid routing on' : 'Kill switch on: all generation at the edge'),
    );
    if (!saved.ok) return { ok: false, kind: 'invalid', message: 'The current config does not validate.' };
    return published(await publishRoutingVersion(runtime, actor, saved.version));
  }

  if (!change.comment)
    return {
      ok: false,
      kind: 'invalid',
      message: 'Say why in a comment.',
      fields: { comment: ['Say why you change the routing.'] },
    };
  const saved = await saveRoutingVersion(runtime.db, actor, change.config, change.comment);
  if (!saved.ok)
    return {
      ok: false,
      kind: 'invalid',
      message: 'The config was not saved: fix the highlighted fields.',
      fields: saved.fields,
    };
  const changes = `${saved.diff.length} change(s)`;
  if (!change.publish)
    return {
      ok: true,
      kind: 'saved',
      version: saved.version,
      message: `Saved version ${saved.version} as a draft with ${changes}. Publish it to make it live.`,
    };
  return published(
    await publishRoutingVersion(runtime, actor, saved.version),
    `Saved version ${saved.version} (${changes}). `,
  );
}
