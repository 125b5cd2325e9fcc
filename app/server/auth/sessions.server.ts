import type { Queryable } from '../db/port.server';
import { toStaff, type Staff } from './staff.server';
import { hashToken, newSecretToken } from './tokens.server';

export interface SessionMeta {
  ip: string;
  userAgent: string;
  ttlHours: number;
}

/** Starts a session and returns the cookie value (the only place the raw token exists). */
export async function createSession(db: Queryable, staffId: string, meta: SessionMeta): Promise<string> {
  const { token, hash } = newSecretToken('');
  await db.query(
    `insert into public.staff_sessions (token_hash, staff_id, expires_at, ip, user_agent)
     values ($1, $2, now() + make_interval(hours => $3), $4, $5)`,
    [hash, staffId, meta.ttlHours, meta.ip, meta.userAgent.slice(0, 300)],
  );
  return token;
}

/**
 * The staff member behind a session cookie, or null when the session is unknown, ended,
 * expired, or its staff member is disabled (so disabling takes effect on the next request).
 */
export async function findSessionStaff(db: Queryable, token: string): Promise<Staff | null> {
  const [row] = await db.query<{
    session_id: string;
    id: string;
    email: string;
    display_name: string;
    role: Staff['role'];
    stale: boolean;
  }>(
    `select s.id as session_id, st.id, st.email, st.display_name, st.role,
            s.last_seen_at < now() - interval '1 minute' as stale
     from public.staff_sessions s join public.staff st on st.id = s.staff_id
     where s.token_hash = $1 and s.ended_at is null and s.expires_at > now() and st.disabled_at is null`,
    [hashToken(token)],
  );
  if (!row) return null;
  // Kept to the minute, so a dashboard's many requests do not each write the session row.
  if (row.stale)
    await db.query('update public.staff_sessions set last_seen_at = now() where id = $1', [row.session_id]);
  return toStaff(row);
}

export async function endSession(db: Queryable, token: string): Promise<void> {
  await db.query('update public.staff_sessions set ended_at = now() where token_hash = $1 and ended_at is null', [
    hashToken(token),
  ]);
}

export async function endAllSessions(db: Queryable, staffId: string): Promise<void> {
  await db.query('update public.staff_sessions set ended_at = now() where staff_id = $1 and ended_at is null', [
    staffId,
  ]);
}
