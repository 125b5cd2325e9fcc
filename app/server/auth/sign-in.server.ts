import { audit } from '../audit.server';
import type { Database } from '../db/port.server';
import { verifyPassword, UNKNOWN_USER_HASH } from './password.server';
import { createSession, type SessionMeta } from './sessions.server';
import { findStaffByEmail, toStaff, type Staff } from './staff.server';
import { verifySupabaseAccessToken, type SupabaseJwtConfig } from './supabase-jwt.server';

/** Failed attempts allowed in the window before sign-in is refused. */
export const RATE_LIMIT = { windowMinutes: 15, perEmail: 5, perAddress: 20 };

export type SignInResult =
  { ok: true; staff: Staff; sessionToken: string } | { ok: false; status: 401 | 403 | 429; message: string };

const WRONG_CREDENTIALS = 'That email and password do not match a staff account.';

export async function signInWithPassword(
  db: Database,
  input: { email: string; password: string },
  meta: SessionMeta,
): Promise<SignInResult> {
  const email = input.email.trim().toLowerCase();
  const [recent] = await db.query<{ by_email: number; by_address: number }>(
    `select count(*) filter (where lower(email) = $1) as by_email, count(*) filter (where ip = $2) as by_address
     from public.sign_in_attempts
     where not succeeded and occurred_at > now() - make_interval(mins => $3)
       and (lower(email) = $1 or ip = $2)`,
    [email, meta.ip, RATE_LIMIT.windowMinutes],
  );
  if (recent.by_email >= RATE_LIMIT.perEmail || recent.by_address >= RATE_LIMIT.perAddress) {
    await audit(db, { actor: email, action: 'sign_in.rate_limited', detail: { ip: meta.ip } });
    return {
      ok: false,
      status: 429,
      message: `Too many failed sign-ins. Wait ${RATE_LIMIT.windowMinutes} minutes, or ask an admin to check your account.`,
    };
  }

  const row = await findStaffByEmail(db, email);
  const passwordMatches = await verifyPassword(input.password, row?.password_hash ?? UNKNOWN_USER_HASH);
  const allowed = Boolean(row && passwordMatches && !row.disabled_at);
  await db.query('insert into public.sign_in_attempts (email, ip, succeeded) values ($1, $2, $3)', [
    email,
    meta.ip,
    allowed,
  ]);
  if (!row || !passwordMatches) {
    await audit(db, { actor: email, action: 'sign_in.failed', detail: { ip: meta.ip } });
    return { ok: false, status: 401, message: WRONG_CREDENTIALS };
  }
  return startSession(db, row, meta, 'password');
}

/**
 * Exchanges a verified Supabase access token for a Switchyard session. The Supabase user must
 * be staff: matched by user id, or by email the first time (which then records the user id).
 */
export async function signInWithSupabase(
  db: Database,
  accessToken: string,
  config: SupabaseJwtConfig,
  meta: SessionMeta,
): Promise<SignInResult> {
  let identity;
  try {
    identity = await verifySupabaseAccessToken(accessToken, config);
  } catch (error) {
    await audit(db, {
      actor: 'unknown',
      action: 'sign_in.invalid_token',
      detail: { ip: meta.ip, reason: (error as Error).message },
    });
    return { ok: false, status: 401, message: 'The sign-in token is invalid or expired. Sign in again.' };
  }
  const [row] = await db.query<{
    id: string;
    email: string;
    display_name: string;
    role: Staff['role'];
    disabled_at: Date | null;
  }>(
    `update public.staff set auth_user_id = $1, updated_at = now()
     where id = (
       select id from public.staff
       where auth_user_id = $1 or (auth_user_id is null and $2::text is not null and lower(email) = lower($2))
       order by auth_user_id is null limit 1
     )
     returning id, email, display_name, role, disabled_at`,
    [identity.userId, identity.email],
  );
  if (!row) {
    await audit(db, { actor: identity.email ?? identity.userId, action: 'sign_in.not_staff', detail: { ip: meta.ip } });
    return {
      ok: false,
      status: 403,
      message: `${identity.email ?? 'This account'} is not a Switchyard staff member. Ask an admin to add you.`,
    };
  }
  return startSession(db, row, meta, 'supabase');
}

/** The end of every sign-in: refuse a disabled member, else start a session; both audited. */
async function startSession(
  db: Database,
  row: { id: string; email: string; display_name: string; role: Staff['role']; disabled_at: Date | null },
  meta: SessionMeta,
  method: 'password' | 'supabase',
): Promise<SignInResult> {
  if (row.disabled_at) {
    await audit(db, { actor: row.email, action: 'sign_in.refused_disabled', targetType: 'staff', targetId: row.id });
    return { ok: false, status: 403, message: 'This staff account is disabled. Ask an admin to enable it.' };
  }
  const sessionToken = await createSession(db, row.id, meta);
  await audit(db, {
    actor: row.email,
    action: 'sign_in.succeeded',
    targetType: 'staff',
    targetId: row.id,
    detail: { ip: meta.ip, method },
  });
  return { ok: true, staff: toStaff(row), sessionToken };
}
