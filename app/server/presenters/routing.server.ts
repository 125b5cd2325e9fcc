import type { RoutingConfig } from '~/domain/routing';

import { activeRoutingConfig, type ActiveRoutingConfig } from '../routing-config.server';
import type { Runtime } from '../runtime.server';
import { listRoutingVersions, type ConfigVersion } from '../services/routing-control.server';

export interface RoutingView {
  /** What the router is serving now, read back the way the router reads it. */
  active: ActiveRoutingConfig;
  /** The config the editor starts from: the newest saved version (maybe a draft), else the active one. */
  editing: { config: RoutingConfig; version: number; published: boolean };
  versions: ConfigVersion[];
  edgeConfigConfigured: boolean;
  /** Sticky keys of the last 1,000 jobs, for previewing a canary percentage in the browser. */
  recentKeys: { chapter: string[]; course: string[]; user: string[] };
}

export async function presentRouting(runtime: Runtime): Promise<RoutingView> {
  const [active, versions, recent] = await Promise.all([
    activeRoutingConfig(runtime),
    listRoutingVersions(runtime.db),
    runtime.db.query<{ chapter_id: string; course_id: string; created_by: string }>(
      `select j.chapter_id, ch.course_id, j.created_by
       from (select chapter_id, created_by from public.chapter_content_jobs order by created_at desc limit 1000) j
       join public.chapters ch on ch.id = j.chapter_id`,
    ),
  ]);
  const newest = versions[0];
  return {
    active,
    editing: newest
      ? { config: newest.config, version: newest.version, published: newest.publishedAt !== null }
      : { config: active.config, version: active.version, published: true },
    versions,
    edgeConfigConfigured: runtime.edgeConfig !== null,
    recentKeys: {
      chapter: recent.map((row) => row.chapter_id),
      course: recent.map((row) => row.course_id),
      user: recent.map((row) => row.created_by),
    },
  };
}
