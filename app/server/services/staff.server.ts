import type { Role } from '~/domain/permissions';
import type { NewStaff } from '~/domain/staff-schemas';

import { audit } from '../audit.server';
import { hashPassword } from '../auth/password.server';
import { endAllSessions } from '../auth/sessions.server';
import type { Staff } from '../auth/staff.server';
import type { Database } from '../db/port.server';

export class StaffConflictError extends Error {}

export async function createStaff(db: Database, actor: Staff | 'system', input: NewStaff): Promise<string> {
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return db.transaction(async (tx) => {
    const existing = await tx.query('select 1 from public.staff where lower(email) = $1', [input.email]);
    if (existing.length > 0) throw new StaffConflictError(`${input.email} is already a staff member.`);
    const [row] = await tx.query<{ id: string }>(
      'insert into public.staff (email, display_name, role, password_hash) values ($1, $2, $3, $4) returning id',
      [input.email, input.displayName, input.role, passwordHash],
    );
    await audit(tx, {
      actor: actor === 'system' ? 'system' : actor.email,
      action: 'staff.create',
      targetType: 'staff',
      targetId: row.id,
      detail: { email: input.email, role: input.role },
    });
    return row.id;
  });
}

export async function changeStaffRole(db: Database, actor: Staff, staffId: string, role: Role): Promise<void> {
  await db.transaction(async (tx) => {
    const [before] = await tx.query<{ role: Role }>('select role from public.staff where id = $1 for update', [
      staffId,
    ]);
    if (!before) throw new StaffConflictError('That staff member does not exist.');
    await tx.query('update public.staff set role = $2, updated_at = now() where id = $1', [staffId, role]);
    await audit(tx, {
      actor: actor.email,
      action: 'staff.change_role',
      targetType: 'staff',
      targetId: staffId,
      detail: { from: before.role, to: role },
    });
  });
}

/** Disabling ends every session of the member at once; enabling lets them sign in again. */
export async function setStaffDisabled(db: Database, actor: Staff, staffId: string, disabled: boolean): Promise<void> {
  if (disabled && staffId === actor.id) throw new StaffConflictError('You cannot disable your own account.');
  await db.transaction(async (tx) => {
    await tx.query(
      `update public.staff set disabled_at = case when $2 then coalesce(disabled_at, now()) end, updated_at = now() where id = $1`,
      [staffId, disabled],
    );
    if (disabled) await endAllSessions(tx, staffId);
    await audit(tx, {
      actor: actor.email,
      action: disabled ? 'staff.disable' : 'staff.enable',
      targetType: 'staff',
      targetId: staffId,
    });
  });
}

export interface StaffListItem {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  signInMethod: 'password' | 'supabase' | 'invited';
  disabledAt: Date | null;
  lastSeenAt: Date | null;
}

export async function listStaff(db: Database): Promise<StaffListItem[]> {
  const rows = await db.query<{
    id: string;
    email: string;
    display_name: string;
    role: Role;
    has_password: boolean;
    auth_user_id: string | null;
    disabled_at: Date | null;
    last_seen_at: Date | null;
  }>(
    `select s.id, s.email, s.display_name, s.role, s.password_hash is not null as has_password, s.auth_user_id,
            s.disabled_at, (select max(last_seen_at) from public.staff_sessions where staff_id = s.id) as last_seen_at
     from public.staff s order by s.disabled_at is not null, s.email`,
  );
  return rows.map((row) => ({
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    signInMethod: row.has_password ? 'password' : row.auth_user_id ? 'supabase' : 'invited',
    disabledAt: row.disabled_at,
    lastSeenAt: row.last_seen_at,
  }));
}
