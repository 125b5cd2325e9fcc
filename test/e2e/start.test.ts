import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { openPglite } from '../../app/server/db/pglite.server';
import { submitJob } from '../../app/server/queue.server';
import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import { runEntry, startApp, type AppProcess } from '../support/app-process';
import { newJob } from '../support/fixtures';

async function signInAsDemo(app: AppProcess): Promise<string> {
  const response = await fetch(`${app.url}/sign-in`, {
    method: 'POST',
    body: new URLSearchParams({ email: demoEmail('content_manager'), password: DEMO_PASSWORD }),
    headers: { Origin: app.url },
    redirect: 'manual',
  });
  expect(response.status).toBe(302);
  return (response.headers.get('set-cookie') ?? '').split(';')[0];
}

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
      expect(first.output()).toContain('demo accounts (password "switchyard-demo")');
      expect(first.output()).toContain(demoEmail('finance'));
      const signInPage = await (await fetch(first.url)).text();
      expect(signInPage).toContain('Sign in to Switchyard');
      expect(signInPage).toContain('Demo accounts are active');
      const cookie = await signInAsDemo(first);
      const overview = await (await fetch(first.url, { headers: { Cookie: cookie } })).text();
      expect(overview).toContain('Jobs submitted');
      expect(overview).toContain('Queue depth');
      // A newcomer's first start has demo history to look at, labelled as such.
      expect(first.output()).toMatch(/demo: +300 demo chapters, \d+ jobs and 300 learners of made-up history/);
      expect(overview).toContain('demo history');
      expect(await (await fetch(`${first.url}/jobs`, { headers: { Cookie: cookie } })).text()).not.toContain(
        'No jobs yet',
      );
    } finally {
      expect(await first.stop()).toBe(0);
    }

    // While the app is down, queue a job straight into its database files.
    const db = await openPglite(dataDir);
    const [chapter] = await db.query<{ id: string }>(
      `select id from public.chapters where title = 'Indexes That Earn Their Keep'`,
    );
    const { jobId } = await submitJob(db, newJob(chapter.id));
    await db.close();

    const second = await startApp(env);
    try {
      expect(second.output()).not.toMatch(/applied \d+ migrations/);
      const cookie = await signInAsDemo(second);
      const jobsPage = () =>
        fetch(`${second.url}/jobs`, { headers: { Cookie: cookie } }).then((response) => response.text());
      expect(await jobsPage()).toContain('Indexes That Earn Their Keep');
      // The embedded worker picks the job up and finishes it with the offline generator.
      // (Asked of this job: the demo history has succeeded jobs of its own.)
      const status = async () =>
        (
          (await (await fetch(`${second.url}/api/jobs/${jobId}`, { headers: { Cookie: cookie } })).json()) as {
            status: string;
          }
        ).status;
      await expect.poll(status, { timeout: 15_000 }).toBe('succeeded');
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
