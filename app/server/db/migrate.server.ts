import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import type { Database } from './port.server';
import { splitSqlStatements } from './split-sql.server';

export const MIGRATIONS_DIR = path.resolve('supabase/migrations');

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

const FILE_NAME = /^(\d{14})_(.+)\.sql$/;

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  return Promise.all(
    files.map(async (file) => {
      const match = FILE_NAME.exec(file);
      if (!match) {
        throw new Error(`Migration file ${file} must be named <YYYYMMDDHHMMSS>_<verb>_<object>.sql`);
      }
      return { version: match[1], name: match[2], sql: await readFile(path.join(dir, file), 'utf8') };
    }),
  );
}

// The Supabase CLI's own history table, so `supabase db push` later sees these as applied.
const HISTORY_DDL = `
  create schema if not exists supabase_migrations;
  create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
  alter table supabase_migrations.schema_migrations add column if not exists statements text[];
  alter table supabase_migrations.schema_migrations add column if not exists name text;
`;

/** An arbitrary constant: every migrator of this project takes the same advisory lock. */
const MIGRATION_LOCK = 7_420_061;

/**
 * Applies every migration not yet recorded, in version order, each in its own transaction
 * together with its history row. Concurrent runners (several app instances starting at
 * once) serialise on an advisory lock, so each migration applies exactly once.
 * Returns the versions it applied.
 */
export async function migrate(db: Database, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await readMigrations());
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(HISTORY_DDL);
  });
  const applied: string[] = [];
  for (const migration of all) {
    const didApply = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const done = await tx.query('select 1 from supabase_migrations.schema_migrations where version = $1', [
        migration.version,
      ]);
      if (done.length > 0) return false;
      try {
        await tx.exec(migration.sql);
      } catch (error) {
        throw new Error(`Migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await tx.query(
        'insert into supabase_migrations.schema_migrations (version, statements, name) values ($1, $2, $3)',
        [migration.version, splitSqlStatements(migration.sql), migration.name],
      );
      return true;
    });
    if (didApply) applied.push(migration.version);
  }
  return applied;
}

/** Versions in `supabase/migrations` that the database has not applied yet. */
export async function pendingMigrations(db: Database, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await readMigrations());
  const rows = await db
    .query<{ version: string }>('select version from supabase_migrations.schema_migrations')
    .catch(() => [] as { version: string }[]);
  const applied = new Set(rows.map((row) => row.version));
  return all.filter((migration) => !applied.has(migration.version)).map((migration) => migration.version);
}
