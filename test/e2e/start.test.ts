import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { openPglite } from '../../app/server/db/pglite.server';
import { submitJob } from '../../app/server/queue.server';
import { runEntry, startApp } from '../support/app-process';
import { newJob } from '../support/fixtures';

describe('npm start on the embedded database', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-start-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('migrates, seeds, serves the dashboard and health, and keeps its data across restarts', async () => {
    const env = { PGLITE_DATA_DIR: dataDir };
    const first = await startApp(env);
    try {
      expect(first.output()).toContain('embedded PGlite');
      expect(first.output()).toMatch(/applied \d+ migrations/);
      const health = await fetch(`${first.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({
        ok: true,
        database: 'reachable',
        databaseKind: 'pglite',
        pendingMigrations: [],
      });
      const overview = await (await fetch(first.url)).text();
      expect(overview).toContain('Jobs submitted');
      expect(overview).toContain('Queue depth');
      expect(await (await fetch(`${first.url}/jobs`)).text()).toContain('No jobs yet');
    } finally {
      expect(await first.stop()).toBe(0);
    }

    // While the app is down, queue a job straight into its database files.
    const db = await openPglite(dataDir);
    const [chapter] = await db.query<{ id: string }>(
      `select id from public.chapters where title = 'Indexes That Earn Their Keep'`,
    );
    await submitJob(db, newJob(chapter.id));
    await db.close();

    const second = await startApp(env);
    try {
      expect(second.output()).not.toMatch(/applied \d+ migrations/);
      const jobs = await (await fetch(`${second.url}/jobs`)).text();
      expect(jobs).toContain('Indexes That Earn Their Keep');
      // The embedded worker picks the job up and finishes it with the offline generator.
      await expect
        .poll(async () => (await (await fetch(`${second.url}/jobs`)).text()).includes('badge-succeeded'), {
          timeout: 15_000,
        })
        .toBe(true);
    } finally {
      await second.stop();
    }
  });

  it('stops at start-up with one clear message naming a malformed DATABASE_URL', async () => {
    const { exited, output } = runEntry('server.ts', { DATABASE_URL: 'not a url', PORT: '0' });
    expect(await exited).toBe(1);
    expect(output()).toContain('DATABASE_URL: must be a PostgreSQL URL');
    expect(output()).not.toContain('at ');
  });
});
