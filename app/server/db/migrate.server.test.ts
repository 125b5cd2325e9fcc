import { readMigrations, migrate, pendingMigrations } from './migrate.server';
import { splitSqlStatements } from './split-sql.server';
import { openPglite } from './pglite.server';
import { openPostgres } from './postgres.server';
import { databaseTargets } from '../../../test/support/databases';
import pg from 'pg';
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Database } from './port.server';

/** An empty, unmigrated database on each target. */
async function emptyDatabases(): Promise<{ name: string; db: Database; drop: () => Promise<void> }[]> {
  const targets: { name: string; db: Database; drop: () => Promise<void> }[] = [];
  const pglite = await openPglite();
  targets.push({ name: 'pglite', db: pglite, drop: () => pglite.close() });
  const templateUrl = inject('postgresTemplateUrl');
  if (templateUrl) {
    const name = `switchyard_empty_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const adminUrl = new URL(templateUrl);
    adminUrl.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const url = new URL(templateUrl);
    url.pathname = `/${name}`;
    const db = openPostgres({ connectionString: url.toString(), poolSize: 4 });
    targets.push({
      name: 'postgres',
      db,
      async drop() {
        await db.close();
        await admin.query(`drop database ${name} with (force)`);
        await admin.end();
      },
    });
  }
  return targets;
}

describe('migration runner', () => {
  it('applies every migration from empty, records it as the Supabase CLI does, and is a no-op the second time', async () => {
    const files = await readMigrations();
    for (const { name, db, drop } of await emptyDatabases()) {
      try {
        expect(await pendingMigrations(db), name).toEqual(files.map((file) => file.version));
        expect(await migrate(db), name).toEqual(files.map((file) => file.version));
        const history = await db.query<{ version: string; name: string; statements: string[] }>(
          'select version, name, statements from supabase_migrations.schema_migrations order by version',
        );
        expect(
          history.map((row) => [row.version, row.name]),
          name,
        ).toEqual(files.map((file) => [file.version, file.name]));
        for (const row of history) expect(row.statements.length, `${name} ${row.version}`).toBeGreaterThan(0);
        expect(await migrate(db), name).toEqual([]);
        expect(await pendingMigrations(db), name).toEqual([]);
      } finally {
        await drop();
      }
    }
  });

  // PGlite has a single connection, so only PostgreSQL can race three runners.
  it.skipIf(!inject('postgresTemplateUrl'))(
    'lets concurrent runners apply each migration once on PostgreSQL',
    async () => {
      const targets = await emptyDatabases();
      const postgres = targets.find((target) => target.name === 'postgres');
      for (const target of targets) if (target !== postgres) await target.drop();
      if (!postgres) throw new Error('PostgreSQL target missing');
      try {
        const results = await Promise.all([migrate(postgres.db), migrate(postgres.db), migrate(postgres.db)]);
        expect(results.flat().sort()).toEqual((await readMigrations()).map((file) => file.version));
      } finally {
        await postgres.drop();
      }
    },
  );

  it('rolls back a failing migration whole and names it', async () => {
    const [{ db, drop }] = await emptyDatabases();
    try {
      const broken = [
        { version: '20990101000000', name: 'create_broken', sql: 'create table good (id int); select 1/0;' },
      ];
      await expect(migrate(db, broken)).rejects.toThrow(/20990101000000_create_broken failed: division by zero/);
      expect(await db.query("select to_regclass('public.good') as t")).toEqual([{ t: null }]);
      expect(await pendingMigrations(db, broken)).toEqual(['20990101000000']);
    } finally {
      await drop();
    }
  });
});

describe('splitSqlStatements', () => {
  it('splits on semicolons outside strings, dollar quotes and comments', () => {
    const script = `
      -- a comment; with a semicolon
      create table a (x text default 'a;b');
      /* block; /* nested; */ still comment */
      create function f() returns int language sql as $body$ select 1; $body$;
      select "odd;name" from a;
    `;
    expect(splitSqlStatements(script)).toEqual([
      "-- a comment; with a semicolon\n      create table a (x text default 'a;b')",
      '/* block; /* nested; */ still comment */\n      create function f() returns int language sql as $body$ select 1; $body$',
      'select "odd;name" from a',
    ]);
  });
});

describe.each(databaseTargets())('row level security on $name', (target) => {
  it('leaves the browser roles only the functions meant for them: learners their own rows, and pure helpers', async () => {
    const { db, drop } = await target.create();
    try {
      const executable = (role: string) =>
        db.query<{ fn: string }>(
          `select p.oid::regprocedure::text as fn
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname = 'public' and p.prorettype <> 'trigger'::regtype
             and has_function_privilege($1, p.oid, 'execute')
           order by 1`,
          [role],
        );
      const pure = ['latency_bucket_bounds_ms()', 'latency_histogram(double precision[])', 'priority_rank(text)'];
      expect((await executable('anon')).map((row) => row.fn)).toEqual(pure);
      expect((await executable('authenticated')).map((row) => row.fn)).toEqual(
        [
          ...pure,
          'is_staff()',
          'learner_profile(uuid)',
          'record_learner_progress(uuid,uuid,text,integer,numeric,integer,boolean)',
          'update_learner_profile(uuid,text,text,jsonb)',
        ].sort(),
      );
    } finally {
      await drop();
    }
  });

  it('denies anon, lets an enabled staff member read jobs, and lets nobody but the server write', async () => {
    const { db, drop } = await target.create();
    try {
      const staffUser = randomUUID();
      const strangerUser = randomUUID();
      await db.query(
        `insert into public.staff (auth_user_id, email, display_name, role) values ($1, 'cm@example.com', 'CM', 'content_manager')`,
        [staffUser],
      );
      await db.exec(`
        insert into public.courses (slug, title) values ('c', 'C');
        insert into public.chapters (course_id, position, title) select id, 1, 'Ch' from public.courses;
        select public.submit_job(jsonb_build_object('chapter_id', (select id from public.chapters), 'model', 'claude-haiku-5-5', 'max_tokens', 10));
      `);
      const asRole = (role: string, userId: string | null, sql: string) =>
        db.transaction(async (tx) => {
          await tx.query(`select set_config('request.jwt.claims', $1, true)`, [
            userId ? JSON.stringify({ sub: userId, role }) : '',
          ]);
          await tx.exec(`set local role ${role}`);
          return tx.query<{ count: number }>(sql);
        });

      await expect(asRole('anon', null, 'select count(*) as count from public.chapter_content_jobs')).rejects.toThrow(
        /permission denied/,
      );
      expect(
        await asRole('authenticated', staffUser, 'select count(*) as count from public.chapter_content_jobs'),
      ).toEqual([{ count: 1 }]);
      expect(
        await asRole('authenticated', strangerUser, 'select count(*) as count from public.chapter_content_jobs'),
      ).toEqual([{ count: 0 }]);
      await expect(
        asRole('authenticated', staffUser, `update public.chapter_content_jobs set status = 'cancelled'`),
      ).rejects.toThrow(/permission denied/);
      await expect(asRole('authenticated', staffUser, `select public.claim_jobs('w', 30, 1)`)).rejects.toThrow(
        /permission denied/,
      );

      await db.query(`update public.staff set disabled_at = now() where auth_user_id = $1`, [staffUser]);
      expect(
        await asRole('authenticated', staffUser, 'select count(*) as count from public.chapter_content_jobs'),
      ).toEqual([{ count: 0 }]);
    } finally {
      await drop();
    }
  });
});
