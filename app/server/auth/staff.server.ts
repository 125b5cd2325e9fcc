import type { Role } from '~/domain/permissions';

import type { Queryable } from '../db/port.server';

export interface Staff {
  id: string;
  email: string;
  displayName: string;
  role: Role;
}

export interface StaffRow {
  id: string;
  email: string;
  display_name: string;
  role: Role;
  password_hash: string | null;
  auth_user_id: string | null;
  disabled_at: Date | null;
  created_at: Date;
}

export function toStaff(row: Pick<StaffRow, 'id' | 'email' | 'display_name' | 'role'>): Staff {
  return { id: row.id, email: row.email, displayName: row.display_name, role: row.role };
}

export async function findStaffByEmail(db: Queryable, email: string): Promise<StaffRow | undefined> {
  const [row] = await db.query<StaffRow>('select * from public.staff where lower(email) = lower($1)', [email]);
  return row;
}
