import type { Queryable } from '../db/port.server';
import type { Staff } from '../auth/staff.server';

/**
 * Presence on the Routing page: each open page sends a heartbeat every HEARTBEAT_SECONDS with
 * the version it edits and whether it has unsaved changes; a page is "here" while its last
 * heartbeat is younger than PRESENT_SECONDS (three heartbeats), so a closed tab drops off
 * within half a minute without needing a goodbye.
 */
export const HEARTBEAT_SECONDS = 10;
export const PRESENT_SECONDS = 30;

export interface PresentEditor {
  staffId: string;
  name: string;
  baseVersion: number;
  dirty: boolean;
  seenAt: Date;
}

/** Records one heartbeat and answers who else has the page open. */
export async function reportRoutingPresence(
  db: Queryable,
  staff: Staff,
  heartbeat: { tabId: string; baseVersion: number; dirty: boolean },
): Promise<PresentEditor[]> {
  await db.query(
    `insert into public.routing_presence (tab_id, staff_id, base_version, dirty, seen_at)
     values ($1, $2, $3, $4, now())
     on conflict (tab_id) do update
       set base_version = excluded.base_version, dirty = excluded.dirty, seen_at = excluded.seen_at
     where routing_presence.staff_id = excluded.staff_id`,
    [heartbeat.tabId, staff.id, heartbeat.baseVersion, heartbeat.dirty],
  );
  await db.query(`delete from public.routing_presence where seen_at < now() - interval '5 minutes'`);
  return presentOnRouting(db, staff.id);
}

/** Who has the Routing page open now, other than `viewerId` (any of their tabs); one row per person. */
export async function presentOnRouting(db: Queryable, viewerId: string): Promise<PresentEditor[]> {
  const rows = await db.query<{
    staff_id: string;
    display_name: string;
    base_version: number;
    dirty: boolean;
    seen_at: Date;
  }>(
    `select distinct on (p.staff_id) p.staff_id, s.display_name, p.base_version, p.dirty, p.seen_at
     from public.routing_presence p join public.staff s on s.id = p.staff_id
     where p.staff_id <> $1 and p.seen_at > now() - make_interval(secs => $2)
     order by p.staff_id, p.dirty desc, p.seen_at desc`,
    [viewerId, PRESENT_SECONDS],
  );
  return rows
    .map((row) => ({
      staffId: row.staff_id,
      name: row.display_name,
      baseVersion: row.base_version,
      dirty: row.dirty,
      seenAt: row.seen_at,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
