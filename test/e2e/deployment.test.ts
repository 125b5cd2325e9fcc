import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

import { inject } from 'vitest';

import { createStaff } from '../../app/server/services/staff.server';
import { claimJob, submitJob } from '../../app/server/queue.server';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { freePort, runEntry } from '../support/app-process';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { DEPLOY_TOOLS, missingDeployTools } from '../support/deploy-tools';
import { jobRow, newJob, seededChapterIds } from '../support/fixtures';
import { readVcConfig, serveVercelOutput, type ServedOutput } from '../support/vercel-output';

/**
 * The Vercel deployment, built here as Vercel builds it (`npm run build:vercel`: the pinned CLI's
 * `vercel build`) and served from `.vercel/output` alone: config.json's routes, static files,
 * the Node.js function loaded with Vercel's (req, res) contract on the runtime its
 * .vc-config.json names, on PostgreSQL, with the worker as a separate process. What cannot run
 * here is only the upload (`vercel deploy --prebuilt`).
 */
const postgres = databaseTargets().find((target) => target.name === 'postgres');
const missing = missingDeployTools(['vercel', 'node22']);
const run = promisify(execFile);

const ADMIN = { email: 'deploy-admin@switchyard.local', password: 'a long deploy password' };
const CRON_SECRET = 'cron-secret-for-the-deployment-test';
const WAKE_SECRET = 'wake-secret-for-the-deployment-test';

describe.skipIf(Boolean(missing) || !inject('postgresTemplateUrl'))('the Vercel build output, served', () => {
  let anthropic: AnthropicStandIn;
  let database: TestDatabase;
  let served: ServedOutput;
  let worker: ReturnType<typeof runEntry>;
  let chapters: string[];
  let ghostJob: string;

  beforeAll(async () => {
    const started = Date.now();
    await run('bash', ['scripts/build-vercel.sh'], { maxBuffer: 64 * 1024 * 1024 });
    console.info(`vercel build: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    anthropic = await startAnthropicStandIn();
    anthropic.setDefault({ text: ['# Deployed\n', 'chapter ', 'text'], delayMs: 5 });
    database = await postgres!.create();
    chapters = await seededChapterIds(database.db);
    await createStaff(database.db, 'system', { ...ADMIN, displayName: 'Deploy admin', role: 'admin' });
    // A job whose worker vanished mid-run: only the cron sweep can give it back to the queue.
    ghostJob = (await submitJob(database.db, newJob(chapters[1]))).jobId;
    await claimJob(database.db, ghostJob, 'vanished-worker', 30);
    await database.db.query(
      `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [ghostJob],
    );

    const workerPort = await freePort();
    worker = runEntry('worker/main.ts', {
      DATABASE_URL: database.url!,
      PORT: String(workerPort),
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: anthropic.url,
      WORKER_WAKE_SECRET: WAKE_SECRET,
      // As on Cloud Run (worker/service.yaml): it works only inside the wake-ups the app sends.
      WORKER_IDLE_WAKE: 'false',
    });
    for (const deadline = Date.now() + 15_000; !worker.output().includes('worker listening');) {
      if (Date.now() > deadline || worker.child.exitCode !== null) throw new Error(`worker: ${worker.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    served = await serveVercelOutput({
      outputDir: '.vercel/output',
      repoRoot: process.cwd(),
      nodeFor: (runtime) => {
        if (runtime !== 'nodejs22.x') throw new Error(`the function asks for ${runtime}; the tests have Node 22`);
        return DEPLOY_TOOLS.node22;
      },
      env: (origin) => ({
        DATABASE_URL: database.url!,
        APP_ORIGIN: origin,
        CRON_SECRET,
        WORKER_URL: `http://127.0.0.1:${workerPort}`,
        WORKER_WAKE_SECRET: WAKE_SECRET,
        ANTHROPIC_API_KEY: 'sk-ant-test',
        ANTHROPIC_BASE_URL: anthropic.url,
      }),
    });
  });
  afterAll(async () => {
    await served?.close();
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await database?.drop();
    await anthropic?.close();
  });

  it('builds one Node 22 function with the limits the project sets, and the cron from vercel.json', async () => {
    const vercelJson = JSON.parse(await readFile('vercel.json', 'utf8'));
    const engines = JSON.parse(await readFile('package.json', 'utf8')).engines.node as string;
    expect(engines).toMatch(/<23$/);
    const vc = await readVcConfig('.vercel/output/functions/index.func');
    expect(vc).toMatchObject({
      runtime: 'nodejs22.x',
      launcherType: 'Nodejs',
      handler: 'build/server-index.mjs',
      maxDuration: 300,
      supportsResponseStreaming: true,
    });
    expect(vercelJson.regions).toEqual([expect.stringMatching(/^[a-z]{3}\d$/)]);
    expect(served.config.crons).toEqual(vercelJson.crons);
    // Every migration ships with the function: /healthz and the runtime check them.
    const migrations = Object.keys(vc.filePathMap).filter((file) => file.startsWith('supabase/migrations/'));
    expect(migrations.length).toBeGreaterThan(10);
    expect(Object.keys(vc.filePathMap).some((file) => file.startsWith('test/'))).toBe(false);
  });

  it('runs a journey: health, a page and its client bundle, sign-in, a token, a queued job done by the worker, the chapter with cache headers, the cron sweep', async () => {
    const get = (pathname: string, headers: Record<string, string> = {}) =>
      fetch(`${served.url}${pathname}`, { headers, redirect: 'manual' });

    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, databaseKind: 'postgres', pendingMigrations: [] });
    expect(health.headers.get('strict-transport-security')).toMatch(/max-age=31536000/);
    expect(served.servedBy('/healthz')).toMatch(/\.func$/);
    expect(served.output()).toMatch(/function ready on \d+ \(node v22\./);

    // A page, then every script and stylesheet it names, from the static files.
    const signInPage = await get('/sign-in');
    expect(signInPage.status).toBe(200);
    const html = await signInPage.text();
    expect(html).toContain('Sign in to Switchyard');
    const assets = [...html.matchAll(/(?:src|href)="(\/build\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets.filter((asset) => asset.endsWith('.js')).length).toBeGreaterThan(1);
    expect(assets.some((asset) => asset.endsWith('.css'))).toBe(true);
    for (const asset of new Set(assets)) {
      const response = await get(asset);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('cache-control'), asset).toBe('public, max-age=31536000, immutable');
      expect(served.servedBy(asset), asset).toBe('static');
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    expect((await get('/build/no-such-file.js')).status).toBe(404);

    const signIn = await fetch(`${served.url}/sign-in`, {
      method: 'POST',
      body: new URLSearchParams(ADMIN),
      headers: { Origin: served.origin },
      redirect: 'manual',
    });
    expect(signIn.status).toBe(302);
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^__Host-/);
    expect(setCookie).toMatch(/; Secure/i);
    const cookie = setCookie.split(';')[0];
    const overview = await get('/', { Cookie: cookie });
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain('Jobs submitted');

    const tokenPage = await fetch(`${served.url}/admin/tokens`, {
      method: 'POST',
      body: new URLSearchParams([
        ['intent', 'create'],
        ['name', 'CMS'],
        ['scopes', 'submit'],
        ['scopes', 'read'],
      ]),
      headers: { Origin: served.origin, Cookie: cookie },
    });
    expect(tokenPage.status).toBe(200);
    const token = (await tokenPage.text()).match(/sy_[A-Za-z0-9_-]{20,}/)?.[0];
    expect(token).toBeDefined();
    const api = { Authorization: `Bearer ${token}` };

    const submitted = await fetch(`${served.url}/api/content/generate-chapter`, {
      method: 'POST',
      headers: { ...api, 'Content-Type': 'application/json', 'Idempotency-Key': 'deploy-journey-1' },
      body: JSON.stringify({ chapter_id: chapters[0], model: 'claude-haiku-5-5', max_tokens: 1000 }),
    });
    expect(submitted.status).toBe(202);
    expect(submitted.headers.get('x-route-destination')).toBe('cloud');
    const { job_id: jobId, status_url: statusUrl } = (await submitted.json()) as { job_id: string; status_url: string };
    // The function woke the separate worker with the shared secret: nothing else starts its work.
    await expect.poll(() => worker.output(), { timeout: 15_000 }).toContain('"wake-up"');
    await expect
      .poll(async () => ((await (await get(statusUrl, api)).json()) as { status: string }).status, {
        timeout: 30_000,
        interval: 250,
      })
      .toBe('succeeded');
    expect((await jobRow(database.db, jobId)).lease_owner).toBeNull();

    const chapter = await get(`/api/chapters/${chapters[0]}`, api);
    expect(chapter.status).toBe(200);
    const etag = chapter.headers.get('etag');
    expect(etag).toBeTruthy();
    // Cacheable at Vercel's CDN by tag, invalidated when the chapter changes (ADR 0014).
    expect(chapter.headers.get('cache-control')).toBe('s-maxage=60, stale-while-revalidate=300');
    expect(chapter.headers.get('vercel-cache-tag')).toMatch(
      new RegExp(`^chapter:${chapters[0]},course:[0-9a-f-]{36}$`),
    );
    expect(JSON.stringify(await chapter.json())).toContain('chapter text');
    const unchanged = await get(`/api/chapters/${chapters[0]}`, { ...api, 'If-None-Match': etag! });
    expect(unchanged.status).toBe(304);

    // Vercel Cron calls the path config.json names, with the project's CRON_SECRET.
    const cronPath = served.config.crons![0].path;
    expect((await get(cronPath)).status).toBe(401);
    const swept = await get(cronPath, { Authorization: `Bearer ${CRON_SECRET}` });
    expect(swept.status).toBe(200);
    expect(await swept.json()).toMatchObject({ reaped: 1, requeued: 1, failed: 0 });
    // The reaped job waits out its retry backoff; a later cron run (every minute on Vercel) sends
    // the wake-up that runs it.
    await expect
      .poll(
        async () => {
          await get(cronPath, { Authorization: `Bearer ${CRON_SECRET}` });
          return (await jobRow(database.db, ghostJob)).status;
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe('succeeded');
  });
});
