import type { RoutingConfig } from '~/domain/routing';

import { activeRoutingConfig, type ActiveRoutingConfig } from '../routing-config.server';
import type { Runtime } from '../runtime.server';
import { listRollouts, rolloutTrend, type Rollout, type RolloutTrendPoint } from '../services/rollout.server';
import { listRoutingVersions, type ConfigVersion } from '../services/routing-control.server';
import { presentOnRouting, type PresentEditor } from '../services/routing-presence.server';
import { confirmPublished, READ_BACK_DEADLINE_MS } from '../services/routing-readback.server';

export interface RoutingView {
  /** What the router is serving now, read back the way the router reads it. */
  active: ActiveRoutingConfig;
  /** The config the editor starts from: the newest saved version (maybe a draft), else the active one. */
  editing: { config: RoutingConfig; version: number; published: boolean };
  versions: ConfigVersion[];
  edgeConfigConfigured: boolean;
  /** The newest published version, confirmed (or not yet) by reading it back as the router does. */
  readBack: ReadBackView | null;
  /** Who else has the page open (heartbeats), with unsaved changes or not. */
  present: PresentEditor[];
  /** Sticky keys of the last 1,000 jobs, for previewing a canary percentage in the browser. */
  recentKeys: { chapter: string[]; course: string[]; user: string[] };
  /**
   * Live rollouts first, then the last ones that ended, newest first (ADR 0018); a live one with
   * its analyses so far, for its charts.
   */
  rollouts: (Rollout & { trend: RolloutTrendPoint[] })[];
}

export interface ReadBackView {
  version: number;
  /** publishing: written, not yet served; live: served (effectiveAt); unconfirmed: not served within the deadline. */
  state: 'publishing' | 'live' | 'unconfirmed';
  store: 'edge-config' | 'database';
  publishedAt: Date;
  effectiveAt: Date | null;
  propagationMs: number | null;
  deadlineSeconds: number;
}

export async function presentRouting(runtime: Runtime, viewer: { id: string }): Promise<RoutingView> {
  const [active, versions, present, recent, rollouts] = await Promise.all([
    activeRoutingConfig(runtime),
    listRoutingVersions(runtime.db),
    presentOnRouting(runtime.db, viewer.id),
    runtime.db.query<{ chapter_id: string; course_id: string; created_by: string }>(
      `select j.chapter_id, ch.course_id, j.created_by
       from (select chapter_id, created_by from public.chapter_content_jobs order by created_at desc limit 1000) j
       join public.chapters ch on ch.id = j.chapter_id`,
    ),
    listRollouts(runtime.db, 10),
  ]);
  const newest = versions[0];
  return {
    readBack: await readBackOf(runtime, versions),
    active,
    editing: newest
      ? { config: newest.config, version: newest.version, published: newest.publishedAt !== null }
      : { config: active.config, version: active.version, published: true },
    versions,
    present,
    rollouts: await Promise.all(
      rollouts.map(async (rollout) => ({
        ...rollout,
        trend:
          rollout.state === 'running' || rollout.state === 'paused' ? await rolloutTrend(runtime.db, rollout.id) : [],
      })),
    ),
    edgeConfigConfigured: runtime.edgeConfig !== null,
    recentKeys: {
      chapter: recent.map((row) => row.chapter_id),
      course: recent.map((row) => row.course_id),
      user: recent.map((row) => row.created_by),
    },
  };
}

/**
 * The newest published version's read-back. While it is pending, each page load reads Edge
 * Config once more (the page reloads every second then), so a confirmation is recorded even
 * when the publishing process's own read-back stopped.
 */
async function readBackOf(runtime: Runtime, versions: ConfigVersion[]): Promise<ReadBackView | null> {
  const live = versions.find((version) => version.publishedAt);
  if (!live?.publishedAt) return null;
  const store = runtime.edgeConfig ? 'edge-config' : 'database';
  let { effectiveAt, propagationMs } = live;
  const age = Date.now() - live.publishedAt.getTime();
  if (!effectiveAt && runtime.edgeConfig && age < 2 * READ_BACK_DEADLINE_MS) {
    const result = await confirmPublished(runtime, live.version, { deadlineMs: 0 });
    if (result.kind === 'confirmed') ({ effectiveAt, propagationMs } = result);
  }
  // Without Edge Config the router reads the database: a published version is effective at once.
  if (!runtime.edgeConfig) effectiveAt ??= live.publishedAt;
  const state = effectiveAt ? 'live' : age < READ_BACK_DEADLINE_MS ? 'publishing' : 'unconfirmed';
  return {
    version: live.version,
    state,
    store,
    publishedAt: live.publishedAt,
    effectiveAt,
    propagationMs,
    deadlineSeconds: READ_BACK_DEADLINE_MS / 1000,
  };
}
