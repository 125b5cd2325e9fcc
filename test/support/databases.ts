import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import pg from 'pg';
import { inject } from 'vitest';

import { openPglite } from '../../app/server/db/pglite.server';
import type { Database } from '../../app/server/db/port.server';
import { openPostgres } from '../../app/server/db/postgres.server';
import { TEMPLATE_DATABASE, withDatabaseName } from './postgres-names';

export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated, empty database of its own. */
  create(): Promise<TestDatabase>;
}

export interface TestDatabase {
  db: Database;
  /** For tests that need a second process on the same database (PostgreSQL only). */
  url: string | null;
  drop(): Promise<void>;
}

const pglite: DatabaseTarget = {
  name: 'pglite',
  async create() {
    const snapshot = new Blob([await readFile(inject('pgliteSnapshotPath'))]);
    const db = await openPglite(undefined, snapshot);
    return { db, url: null, drop: () => db.close() };
  },
};

function postgres(templateUrl: string): DatabaseTarget {
  return {
    name: 'postgres',
    async create() {
      const name = `switchyard_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      const admin = new pg.Client({ connectionString: withDatabaseName(templateUrl, 'postgres') });
      await admin.connect();
      await admin.query(`create database ${name} template ${TEMPLATE_DATABASE}`);
      await admin.end();
      const url = withDatabaseName(templateUrl, name);
      const db = openPostgres({ connectionString: url, poolSize: 8 });
      return {
        db,
        url,
        async drop() {
          await db.close();
          const cleanup = new pg.Client({ connectionString: withDatabaseName(templateUrl, 'postgres') });
          await cleanup.connect();
          await cleanup.query(`drop database if exists ${name} with (force)`);
          await cleanup.end();
        },
      };
    },
  };
}

/** Every database the suite runs against: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function databaseTargets(): DatabaseTarget[] {
  const templateUrl = inject('postgresTemplateUrl');
  return templateUrl ? [pglite, postgres(templateUrl)] : [pglite];
}
