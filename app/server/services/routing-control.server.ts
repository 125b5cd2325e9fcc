import { applyChanges, diffConfigs, overlaps, type ConfigChange } from '~/domain/config-diff';
import { fieldErrors } from '~/domain/submit-schemas';
import { DEFAULT_ROUTING_CONFIG, RoutingConfigSchema, type RoutingConfig } from '~/domain/routing';

import { audit } from '../audit.server';
import type { Database, Queryable } from '../db/port.server';
import { forgetActiveRoutingConfig, latestPublished } from '../routing-config.server';
import type { Runtime } from '../runtime.server';
import { confirmInBackground } from './routing-readback.server';

/**
 * Routing config is append-only: every change is a new version with its author, comment and
 * diff; publishing writes one version to Edge Config (or, without it, marks it live in the
 * database); reverting publishes a copy of an earlier version as a new one.
 */

export interface ConfigVersion {
  version: number;
  config: RoutingConfig;
  author: string;
  /** The author's display name, when they are (or were) on the staff list. */
  authorName: string | null;
  comment: string;
  /** Against `basedOn`: what this version changed in the version its editor started from. */
  diff: ConfigChange[];
  basedOn: number | null;
  revertedFrom: number | null;
  createdAt: Date;
  publishedAt: Date | null;
  publishedBy: string | null;
  publishError: string | null;
  /** When the router's read path first served it (read back after the publish), and how long that took. */
  effectiveAt: Date | null;
  propagationMs: number | null;
}

/** Serialises version numbering between concurrent saves (an arbitrary constant). */
const VERSION_LOCK = 7_420_062;

/**
 * A save on a stale base: someone saved after the version the editor started from. It carries
 * what they changed (each version's diff, author and comment), what this edit changes, and
 * which of this edit's fields they changed too, so the editor can re-apply field by field.
 */
export interface StaleEdit {
  baseVersion: number;
  newestVersion: number;
  /** Versions saved after the base, oldest first. */
  since: Pick<ConfigVersion, 'version' | 'author' | 'authorName' | 'comment' | 'diff' | 'createdAt' | 'publishedAt'>[];
  /** Base → newest: everything the others changed, as one diff. */
  theirs: ConfigChange[];
  /** Base → this edit. */
  mine: ConfigChange[];
  /** Paths of `mine` that `theirs` changed too: re-applying them overwrites the others' value. */
  conflicting: string[];
}

export type SaveResult =
  | { ok: true; version: number; diff: ConfigChange[] }
  | { ok: false; kind: 'invalid'; fields: Record<string, string[]> }
  | { ok: false; kind: 'stale'; stale: StaleEdit };

export interface SaveOptions {
  /**
   * The version the edit started from (0: the built-in defaults, before any version). When
   * given, the save is refused as stale if another version was saved after it. Kill switch and
   * revert leave it out: they always win, and say what they overrode.
   */
  baseVersion?: number;
  /** The version whose config the new one is compared with; the newest when left out. */
  diffAgainst?: number;
  revertedFrom?: number;
}

const VERSION_COLUMNS = `v.version, v.config, v.author, v.comment, v.diff, v.based_on, v.reverted_from, v.created_at,
  v.published_at, v.published_by, v.publish_error, v.effective_at, v.propagation_ms,
  (select s.display_name from public.staff s where lower(s.email) = lower(v.author)
   order by s.disabled_at nulls first limit 1) as author_name`;

export async function saveRoutingVersion(
  db: Database,
  actor: string,
  candidate: unknown,
  comment: string,
  options: SaveOptions = {},
): Promise<SaveResult> {
  const parsed = RoutingConfigSchema.safeParse(candidate);
  if (!parsed.success) return { ok: false, kind: 'invalid', fields: fieldErrors(parsed.error) };
  const config = parsed.data;
  return db.transaction(async (tx): Promise<SaveResult> => {
    await tx.query('select pg_advisory_xact_lock($1)', [VERSION_LOCK]);
    const [newest] = await tx.query<{ version: number; config: RoutingConfig }>(
      'select version, config from public.control_config_versions order by version desc limit 1',
    );
    const newestVersion = newest?.version ?? 0;
    const { baseVersion } = options;
    if (baseVersion !== undefined && baseVersion !== newestVersion) {
      if (baseVersion > newestVersion)
        return { ok: false, kind: 'invalid', fields: { base: [`There is no version ${baseVersion} to start from.`] } };
      const baseConfig = await configOf(tx, baseVersion);
      const since = (await versionRows(tx, 'where v.version > $1 order by v.version', [baseVersion])).map(
        ({ version, author, authorName, comment, diff, createdAt, publishedAt }) => ({
          version,
          author,
          authorName,
          comment,
          diff,
          createdAt,
          publishedAt,
        }),
      );
      const theirs = diffConfigs(baseConfig, newest?.config ?? DEFAULT_ROUTING_CONFIG);
      const mine = diffConfigs(baseConfig, config);
      const conflicting = mine.filter((change) => theirs.some((other) => overlaps(change, other))).map((c) => c.path);
      return { ok: false, kind: 'stale', stale: { baseVersion, newestVersion, since, theirs, mine, conflicting } };
    }
    const basedOn = options.diffAgainst ?? newestVersion;
    const before = basedOn === newestVersion ? (newest?.config ?? DEFAULT_ROUTING_CONFIG) : await configOf(tx, basedOn);
    const diff = diffConfigs(before, config);
    const version = newestVersion + 1;
    await tx.query(
      `insert into public.control_config_versions (version, config, author, comment, diff, based_on, reverted_from)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [version, config, actor, comment, JSON.stringify(diff), basedOn || null, options.revertedFrom ?? null],
    );
    await audit(tx, {
      actor,
      action: 'routing.save',
      targetType: 'config_version',
      targetId: String(version),
      detail: { comment, changes: diff.length, basedOn },
    });
    return { ok: true, version, diff };
  });
}

/** A version's config; version 0 is the built-in defaults. */
async function configOf(db: Queryable, version: number): Promise<RoutingConfig> {
  if (version === 0) return DEFAULT_ROUTING_CONFIG;
  const [row] = await db.query<{ config: RoutingConfig }>(
    'select config from public.control_config_versions where version = $1',
    [version],
  );
  return row?.config ?? DEFAULT_ROUTING_CONFIG;
}

/** The publish that went live while another one waited for its turn. */
export interface EarlierPublish {
  version: number;
  publishedBy: string | null;
  publishedAt: Date;
}

export type PublishResult =
  | {
      ok: true;
      version: number;
      store: 'edge-config' | 'database';
      message: string;
      /** Set when another publish went live while this one waited: this one came after it. */
      after?: EarlierPublish;
    }
  /**
   * status: 404 no such version; 409 older than the live version (revert it instead) or no
   * longer valid; 502 Edge Config refused it.
   */
  | { ok: false; version: number; message: string; status: 404 | 409 | 502; after?: EarlierPublish };

/** Serialises publishes, Edge Config write included (an arbitrary constant, not VERSION_LOCK). */
const PUBLISH_LOCK = 7_420_063;

interface LiveRow {
  version: number;
  published_by: string | null;
  published_at: Date;
}

async function liveVersion(db: Queryable): Promise<LiveRow | null> {
  const [row] = await db.query<LiveRow>(
    `select version, published_by, published_at from public.control_config_versions
     where published_at is not null order by published_at desc, version desc limit 1`,
  );
  return row ?? null;
}

const earlier = (row: LiveRow): EarlierPublish => ({
  version: row.version,
  publishedBy: row.published_by,
  publishedAt: row.published_at,
});

/**
 * Publishes a saved version. Publishes take turns (one lock held across the Edge Config write),
 * so the store always ends on the version that was published last; a version older than the
 * live one is refused (a revert publishes a copy of it as a new version instead); a publish
 * that waited while another went live names it. A failure is recorded on the version and can
 * be retried.
 */
export async function publishRoutingVersion(
  runtime: Pick<Runtime, 'db' | 'edgeConfig'>,
  actor: string,
  version: number,
): Promise<PublishResult> {
  const { db, edgeConfig } = runtime;
  // Taken before waiting for the lock: a version published after it went live while this waited.
  const requestedAt = new Date();
  const result = await db.transaction(async (tx): Promise<PublishResult> => {
    await tx.query('select pg_advisory_xact_lock($1)', [PUBLISH_LOCK]);
    const [row] = await tx.query<{ config: RoutingConfig }>(
      'select config from public.control_config_versions where version = $1',
      [version],
    );
    if (!row) return { ok: false, version, message: `There is no version ${version}.`, status: 404 };
    const live = await liveVersion(tx);
    const waitedFor = live && live.version !== version && live.published_at > requestedAt ? earlier(live) : undefined;
    if (live && version < live.version) {
      const by = live.published_by ? ` by ${live.published_by}` : '';
      return {
        ok: false,
        version,
        status: 409,
        after: waitedFor,
        message:
          `Version ${version} is older than the live version ${live.version} (published${by}` +
          `${waitedFor ? ' while yours waited' : ''}), so it was not published. ` +
          `To go back to it, revert to it: that publishes a copy as a new version.`,
      };
    }
    if (edgeConfig) {
      try {
        await edgeConfig.publish({ version, config: row.config, publishedAt: new Date().toISOString() });
      } catch (error) {
        const message = (error as Error).message;
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
        return {
          ok: false,
          version,
          message: `Version ${version} was not published: ${message}. It is saved; publish it again to retry.`,
          status: 502,
          after: waitedFor,
        };
      }
    }
    // The write acknowledged is when the read-back measures propagation from; without Edge
    // Config the router reads the database, so the version is effective at once.
    const acknowledgedAt = new Date();
    await tx.query(
      `update public.control_config_versions
       set published_at = $2::timestamptz, published_by = $3, publish_error = null,
           effective_at = case when $4::boolean then null else $2::timestamptz end,
           propagation_ms = case when $4::boolean then null else 0 end
       where version = $1`,
      [version, acknowledgedAt, actor, edgeConfig !== null],
    );
    await audit(tx, {
      actor,
      action: 'routing.publish',
      targetType: 'config_version',
      targetId: String(version),
      detail: { store: edgeConfig ? 'edge-config' : 'database', after: waitedFor?.version ?? null },
    });
    const afterNote = waitedFor
      ? ` It went live after version ${waitedFor.version}, which ${waitedFor.publishedBy ?? 'someone'} published while this one waited.`
      : '';
    return edgeConfig
      ? {
          ok: true,
          version,
          store: 'edge-config',
          after: waitedFor,
          message: `Version ${version} published to Edge Config; waiting for the router's read path to serve it (every region within about 10 seconds).${afterNote}`,
        }
      : {
          ok: true,
          version,
          store: 'database',
          after: waitedFor,
          message: `Version ${version} is live. Edge Config is not configured, so the router reads it from the database.${afterNote}`,
        };
  });
  if (result.ok) forgetActiveRoutingConfig(db);
  if (result.ok && edgeConfig) confirmInBackground(runtime, version);
  return result;
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
  const saved = await saveRoutingVersion(runtime.db, actor, row.config, `Revert to version ${version}`, {
    revertedFrom: version,
  });
  if (!saved.ok) return { ok: false, version, message: 'That version no longer validates.', status: 409 };
  return publishRoutingVersion(runtime, actor, saved.version);
}

export async function listRoutingVersions(db: Queryable, limit = 50): Promise<ConfigVersion[]> {
  return versionRows(db, 'order by v.version desc limit $1', [limit]);
}

async function versionRows(db: Queryable, tail: string, params: unknown[]): Promise<ConfigVersion[]> {
  const rows = await db.query<{
    version: number;
    config: RoutingConfig;
    author: string;
    author_name: string | null;
    comment: string;
    diff: ConfigChange[];
    based_on: number | null;
    reverted_from: number | null;
    created_at: Date;
    published_at: Date | null;
    published_by: string | null;
    publish_error: string | null;
    effective_at: Date | null;
    propagation_ms: number | null;
  }>(`select ${VERSION_COLUMNS} from public.control_config_versions v ${tail}`, params);
  return rows.map((row) => ({
    version: row.version,
    config: row.config,
    author: row.author,
    authorName: row.author_name,
    comment: row.comment,
    diff: row.diff,
    basedOn: row.based_on,
    revertedFrom: row.reverted_from,
    createdAt: row.created_at,
    publishedAt: row.published_at,
    publishedBy: row.published_by,
    publishError: row.publish_error,
    effectiveAt: row.effective_at,
    propagationMs: row.propagation_ms,
  }));
}

/** What the Routing page asks for. */
export type RoutingChange =
  /** An edit of the version `baseVersion` (0: the defaults, before any version). */
  | { kind: 'save'; config: unknown; comment: string; publish: boolean; baseVersion: number }
  /** Re-apply some of an edit's changes (from a stale save) on `baseVersion`, the newest version then. */
  | { kind: 'reapply'; changes: ConfigChange[]; comment: string; publish: boolean; baseVersion: number }
  | { kind: 'publish'; version: number }
  | { kind: 'revert'; version: number }
  | { kind: 'kill_switch'; hybridEnabled: boolean; comment: string };

/** A version the kill switch left out: saved after the live one, so not in the new version. */
export type OverriddenVersion = Pick<ConfigVersion, 'version' | 'author' | 'authorName' | 'comment'>;

export type RoutingChangeResult =
  | { ok: true; kind: 'saved' | 'published'; version: number; message: string; overrode?: OverriddenVersion[] }
  | { ok: false; kind: 'invalid'; message: string; fields?: Record<string, string[]> }
  /** Someone saved after the edit's base: nothing was saved (status 409). */
  | { ok: false; kind: 'stale'; message: string; stale: StaleEdit }
  /** Saved (or never there) but not live: status 404 no such version, 409 no longer valid, 502 Edge Config refused. */
  | { ok: false; kind: 'not_published'; version: number; message: string; status: 404 | 409 | 502 };

function published(result: PublishResult, prefix = ''): RoutingChangeResult {
  const message = prefix + result.message;
  return result.ok
    ? { ok: true, kind: 'published', version: result.version, message }
    : { ok: false, kind: 'not_published', version: result.version, message, status: result.status };
}

const who = (version: { author: string; authorName: string | null }) => version.authorName ?? version.author;

function staleMessage(stale: StaleEdit): string {
  const others = stale.since
    .map((version) => `v${version.version} by ${who(version)} ("${version.comment}")`)
    .join(', ');
  return (
    `Not saved: you started from v${stale.baseVersion}, and ${others} ${stale.since.length === 1 ? 'was' : 'were'} ` +
    `saved since. Re-apply your changes on v${stale.newestVersion}, field by field, or discard them.`
  );
}

/**
 * Changing the routing, as one use case: save an edit (and publish it), re-apply a stale edit on
 * the newest version, publish or revert to a version, or flip the kill switch. Every change is a
 * new version. Edits carry the version they started from and are refused (stale) when someone
 * saved after it; the kill switch always wins: it flips `hybridEnabled` on the live version,
 * publishes at once, and names the newer unpublished versions it left out.
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
    const live = await latestPublished(runtime.db);
    const enable = change.hybridEnabled;
    const saved = await saveRoutingVersion(
      runtime.db,
      actor,
      { ...live.config, hybridEnabled: enable },
      change.comment || (enable ? 'Kill switch off: hybrid routing on' : 'Kill switch on: all generation at the edge'),
      { diffAgainst: live.version },
    );
    if (!saved.ok) return { ok: false, kind: 'invalid', message: 'The live config does not validate.' };
    const overrode = (
      await versionRows(runtime.db, 'where v.version > $1 and v.version < $2 order by v.version', [
        live.version,
        saved.version,
      ])
    ).map(({ version, author, authorName, comment }) => ({ version, author, authorName, comment }));
    const note = overrode.length
      ? ` It was made from the live v${live.version}, so it leaves out ${overrode
          .map((version) => `v${version.version} by ${who(version)} ("${version.comment}")`)
          .join(
            ', ',
          )}: re-apply ${overrode.length === 1 ? 'that change' : 'those changes'} on v${saved.version} if still wanted.`
      : '';
    const result = published(await publishRoutingVersion(runtime, actor, saved.version), '');
    return result.ok
      ? { ...result, message: `Kill switch ${enable ? 'off' : 'on'}. ${result.message}${note}`, overrode }
      : result;
  }

  if (!change.comment)
    return {
      ok: false,
      kind: 'invalid',
      message: 'Say why in a comment.',
      fields: { comment: ['Say why you change the routing.'] },
    };
  const config =
    change.kind === 'reapply'
      ? applyChanges(await configOf(runtime.db, change.baseVersion), change.changes)
      : change.config;
  const saved = await saveRoutingVersion(runtime.db, actor, config, change.comment, {
    baseVersion: change.baseVersion,
  });
  if (!saved.ok && saved.kind === 'stale')
    return { ok: false, kind: 'stale', message: staleMessage(saved.stale), stale: saved.stale };
  if (!saved.ok)
    return {
      ok: false,
      kind: 'invalid',
      message:
        change.kind === 'reapply'
          ? 'Your changes do not fit on the newest version: fix them in the editor.'
          : 'The config was not saved: fix the highlighted fields.',
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
