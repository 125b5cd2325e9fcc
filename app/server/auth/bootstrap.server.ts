import { ROLES, ROLE_LABELS, type Role } from '~/domain/permissions';

import type { Database } from '../db/port.server';
import { isDemo, type AppEnv } from '../env.server';
import { createStaff } from '../services/staff.server';

/** Demo credentials: only ever created on an embedded database with no admin configured. */
export const DEMO_PASSWORD = 'switchyard-demo';
export const demoEmail = (role: Role) => `${role.replace('_', '-')}@demo.switchyard.local`;

/**
 * Makes sure someone can sign in after start-up. With ADMIN_EMAIL/ADMIN_PASSWORD: that admin,
 * created once. On the embedded database with nothing configured: one demo account per role.
 * Returns lines to print.
 */
export async function ensureInitialStaff(db: Database, env: AppEnv): Promise<string[]> {
  if (env.ADMIN_EMAIL && env.ADMIN_PASSWORD) {
    const existing = await db.query('select 1 from public.staff where lower(email) = lower($1)', [env.ADMIN_EMAIL]);
    if (existing.length === 0) {
      await createStaff(db, 'system', {
        email: env.ADMIN_EMAIL.toLowerCase(),
        displayName: 'Administrator',
        role: 'admin',
        password: env.ADMIN_PASSWORD,
      });
      return [`created admin ${env.ADMIN_EMAIL} (password from ADMIN_PASSWORD)`];
    }
    return [];
  }
  if (!isDemo(env)) {
    const [{ count }] = await db.query<{ count: number }>('select count(*) as count from public.staff');
    return count === 0
      ? ['no staff yet: set ADMIN_EMAIL and ADMIN_PASSWORD and restart to create the first admin']
      : [];
  }
  for (const role of ROLES) {
    const existing = await db.query('select 1 from public.staff where lower(email) = $1', [demoEmail(role)]);
    if (existing.length === 0) {
      await createStaff(db, 'system', {
        email: demoEmail(role),
        displayName: `Demo ${ROLE_LABELS[role].toLowerCase()}`,
        role,
        password: DEMO_PASSWORD,
      });
    }
  }
  return [
    `demo accounts (password "${DEMO_PASSWORD}"):`,
    ...ROLES.map((role) => `  ${ROLE_LABELS[role].padEnd(16)} ${demoEmail(role)}`),
  ];
}
