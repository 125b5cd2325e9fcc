import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';

import pg from 'pg';
import { inject } from 'vitest';

import { DEPLOY_TOOLS, missingDeployTools } from '../support/deploy-tools';
import { withDatabaseName } from '../support/postgres-names';

/**
 * The real Supabase CLI (pinned in tools/deploy) and `npm run db:migrate` apply the same
 * migrations and follow each other, both ways, on databases prepared as Supabase prepares one.
 */
const missing = missingDeployTools(['supabase']);
const run = promisify(execFile);

/** What a Supabase database has before any migration of ours (FACTS.md, "Supabase"). */
const SUPABASE_PREPARATION = `
  do $$
  begin
    if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
    if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
    if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
    if not exists (select 1 from pg_roles where rolname = 'authenticator') then create role authenticator noinherit login; end if;
  end
  $$;
  grant anon, authenticated, service_role to authenticator;
  create schema auth;
  create function auth.uid() returns uuid language sql stable as $fn$
    select coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
  $fn$;
  create schema extensions;
  create publication supabase_realtime;
`;

describe.skipIf(Boolean(missing) || !inject('postgresTemplateUrl'))('the Supabase CLI and npm run db:migrate', () => {
  const templateUrl = inject('postgresTemplateUrl')!;
  const created: string[] = [];
  let versions: string[];

  async function admin<T>(work: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new pg.Client({ connectionString: withDatabaseName(templateUrl, database) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  async function supabaseLikeDatabase(): Promise<string> {
    const name = `switchyard_supabase_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await admin((client) => client.query(`create database ${name}`));
    created.push(name);
    await admin((client) => client.query(SUPABASE_PREPARATION), name);
    return withDatabaseName(templateUrl, name);
  }

  const supabase = (args: string[], url: string) =>
    run(DEPLOY_TOOLS.supabase, [...args, '--db-url', `${url}?sslmode=disable`, '--workdir', '.'], {
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
    });
  const dbMigrate = (url: string) =>
    run('npx', ['tsx', 'app/server/db/cli.server.ts', 'migrate'], { env: { ...process.env, DATABASE_URL: url } });
  const recorded = (url: string) =>
    admin(
      async (client) =>
        (
          await client.query<{ version: string }>(
            'select version from supabase_migrations.schema_migrations order by 1',
          )
        ).rows.map((row) => row.version),
      new URL(url).pathname.slice(1),
    );
  const publicSchema = async (url: string) =>
    (
      await run('pg_dump', ['--schema-only', '--schema=public', '--no-owner', url], { maxBuffer: 64 * 1024 * 1024 })
    ).stdout
      .replace(/^\\(un)?restrict .*$/gm, '')
      .replace(/^-- Dumped .*$/gm, '');

  beforeAll(async () => {
    versions = (await readdir('supabase/migrations'))
      .filter((file) => file.endsWith('.sql'))
      .map((file) => file.split('_')[0])
      .sort();
  });
  afterAll(async () => {
    for (const name of created) await admin((client) => client.query(`drop database if exists ${name} with (force)`));
  });

  it('db push first: npm run db:migrate then finds nothing to apply, and the schemas match', async () => {
    const pushedFirst = await supabaseLikeDatabase();
    const push = await supabase(['db', 'push', '--yes'], pushedFirst);
    expect(`${push.stdout}${push.stderr}`).toContain('Finished supabase db push');
    expect(await recorded(pushedFirst)).toEqual(versions);
    const migrate = await dbMigrate(pushedFirst);
    expect(migrate.stdout).toContain('is up to date');
    expect(await recorded(pushedFirst)).toEqual(versions);

    const migratedFirst = await supabaseLikeDatabase();
    const applied = await dbMigrate(migratedFirst);
    expect(applied.stdout).toContain(`Applied ${versions.length} migration(s)`);
    expect(await publicSchema(migratedFirst)).toBe(await publicSchema(pushedFirst));
  });

  it('db:migrate first: the CLI lists every migration as applied and has nothing to push', async () => {
    const migratedFirst = await supabaseLikeDatabase();
    await dbMigrate(migratedFirst);
    const list = await supabase(['migration', 'list'], migratedFirst);
    for (const version of versions) expect(list.stdout).toMatch(new RegExp(`\\b${version}\\W*\\|\\W*${version}\\b`));
    const push = await supabase(['db', 'push', '--yes'], migratedFirst);
    expect(`${push.stdout}${push.stderr}`).toContain('Remote database is up to date');
    expect(await recorded(migratedFirst)).toEqual(versions);
  });
});
