import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

import { migrate } from '../../app/server/db/migrate.server';
import { wrapPglite } from '../../app/server/db/pglite.server';
import { openPostgres } from '../../app/server/db/postgres.server';
import { TEMPLATE_DATABASE, withDatabaseName } from './postgres-names';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteSnapshotPath: string;
    postgresTemplateUrl: string | null;
  }
}

/**
 * Migrates once, then every test file copies the result: PGlite from a data-dir snapshot,
 * PostgreSQL with CREATE DATABASE … TEMPLATE. Each file so gets a fresh database in
 * milliseconds instead of re-running the migrations.
 */
export default async function setup(project: TestProject) {
  // End-to-end tests run the production build, exactly as `npm start` serves it.
  execFileSync(path.resolve('node_modules/.bin/remix'), ['build'], {
    stdio: 'ignore',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'switchyard-test-'));

  const pglite = await PGlite.create();
  await migrate(wrapPglite(pglite));
  const snapshot = (await pglite.dumpDataDir('none')) as Blob;
  await pglite.close();
  const snapshotPath = path.join(scratch, 'pglite-migrated.tar');
  await writeFile(snapshotPath, Buffer.from(await snapshot.arrayBuffer()));
  project.provide('pgliteSnapshotPath', snapshotPath);

  const baseUrl = process.env.TEST_DATABASE_URL;
  if (baseUrl) {
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${TEMPLATE_DATABASE}`);
    await admin.query(`create database ${TEMPLATE_DATABASE}`);
    await admin.end();
    const template = openPostgres({ connectionString: withDatabaseName(baseUrl, TEMPLATE_DATABASE), poolSize: 1 });
    await migrate(template);
    await template.close();
    project.provide('postgresTemplateUrl', withDatabaseName(baseUrl, TEMPLATE_DATABASE));
  } else {
    project.provide('postgresTemplateUrl', null);
    console.warn(
      '\n  TEST_DATABASE_URL is not set: database tests run on PGlite only.\n' +
        '  Set it (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres) to run them on PostgreSQL too.\n',
    );
  }

  return async () => {
    await rm(scratch, { recursive: true, force: true });
  };
}
