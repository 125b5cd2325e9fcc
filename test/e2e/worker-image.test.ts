import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { inject } from 'vitest';
import { parse } from 'yaml';

import { submitJob } from '../../app/server/queue.server';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { freePort } from '../support/app-process';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { DEPLOY_TOOLS, missingDeployTools } from '../support/deploy-tools';
import { listFiles, performDockerfile, type PerformedImage } from '../support/dockerfile';
import { jobRow, newJob, seededChapterIds } from '../support/fixtures';
import { startGoogleStandIn } from '../support/google-stand-in';

/**
 * The worker image's contract, without a container engine (none runs here): the Dockerfile's
 * steps performed in a scratch folder (test/support/dockerfile.ts), started as its CMD, as the
 * image's non-root user, with the environment of worker/service.yaml (its secrets filled in by
 * name), on PostgreSQL. Cloud Run scales from zero and stops instances with SIGTERM, then SIGKILL
 * 10 s later: the worker must start fast, answer its startup probe, accept only an invoker's ID
 * token, and give its job back on SIGTERM in time.
 */
const postgres = databaseTargets().find((target) => target.name === 'postgres');
const missing = missingDeployTools(['node22']);
/** Cloud Run sends SIGKILL this long after SIGTERM. */
const CLOUD_RUN_SIGKILL_AFTER_MS = 10_000;
/** The image's `USER node` in the official Node images. */
const IMAGE_USERS: Record<string, number> = { node: 1000 };

interface ServiceEnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

describe.skipIf(Boolean(missing) || !inject('postgresTemplateUrl'))('the worker image, performed', () => {
  let scratch: string;
  let image: PerformedImage;
  let serviceEnv: ServiceEnvVar[];
  let anthropic: AnthropicStandIn;
  let google: Awaited<ReturnType<typeof startGoogleStandIn>>;
  let database: TestDatabase;
  let chapters: string[];
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    const compileStarted = Date.now();
    await runOrThrow(process.execPath, ['scripts/build-worker.mjs']);
    const performStarted = Date.now();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'switchyard-image-'));
    await chmod(scratch, 0o755); // the image's user (not root) reads it
    image = await performDockerfile({
      context: process.cwd(),
      root: path.join(scratch, 'image'),
      nodeBinDir: path.dirname(DEPLOY_TOOLS.node22),
      // A build starts with an empty npm cache, and its `npm cache clean` must not empty this machine's.
      runEnv: { npm_config_cache: path.join(scratch, 'npm-cache') },
    });
    console.info(
      `worker image: compile ${performStarted - compileStarted} ms, ` +
        `Dockerfile steps ${((Date.now() - performStarted) / 1000).toFixed(1)} s`,
    );
    const service = parse(await readFile('worker/service.yaml', 'utf8'));
    serviceEnv = service.spec.template.spec.containers[0].env as ServiceEnvVar[];

    anthropic = await startAnthropicStandIn();
    google = await startGoogleStandIn({ email: serviceValue('WORKER_INVOKER_EMAILS') });
    database = await postgres!.create();
    chapters = await seededChapterIds(database.db);
  });
  afterEach(async () => {
    for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await database?.drop();
    await anthropic?.close();
    await google?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  function serviceValue(name: string): string {
    const variable = serviceEnv.find((entry) => entry.name === name);
    if (variable?.value === undefined) throw new Error(`worker/service.yaml sets no plain value for ${name}`);
    return variable.value;
  }

  /** The container's environment: service.yaml's, each secret by its name, plus what Cloud Run and the stand-ins add. */
  function containerEnv(port: number): Record<string, string> {
    const secrets: Record<string, string> = {
      'anthropic-api-key': 'sk-ant-test',
      'switchyard-database-url': database.url!,
      'switchyard-database-listen-url': database.url!,
    };
    const env: Record<string, string> = { ...image.env };
    for (const variable of serviceEnv) {
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else {
        const secret = secrets[variable.valueFrom!.secretKeyRef.name];
        if (secret === undefined) throw new Error(`no test value for secret ${variable.valueFrom!.secretKeyRef.name}`);
        env[variable.name] = secret;
      }
    }
    return {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      ...env,
      // Cloud Run sets PORT; the stand-ins replace Anthropic's API and Google's certificates.
      PORT: String(port),
      ANTHROPIC_BASE_URL: anthropic.url,
      WORKER_OIDC_CERTS_URL: google.certsUrl,
    };
  }

  async function startContainer() {
    const port = await freePort();
    const [command, ...args] = image.cmd;
    expect(command).toBe('node');
    const uid = IMAGE_USERS[image.user ?? ''];
    const asRoot = process.getuid?.() === 0;
    const startedAt = performance.now();
    const child = spawn(DEPLOY_TOOLS.node22, args, {
      cwd: path.join(image.root, image.workdir),
      env: containerEnv(port) as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid, gid: uid } : {}),
    });
    running.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    let readyMs = Number.NaN;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && child.exitCode === null;) {
      const health = await fetch(`${url}/healthz`).catch(() => null);
      if (health?.status === 200) {
        readyMs = performance.now() - startedAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (Number.isNaN(readyMs)) throw new Error(`the worker did not become healthy:\n${output}`);
    return { child, url, readyMs, cpuMs: await cpuMillis(child.pid!), exited, output: () => output };
  }

  it('holds the compiled worker, its production packages and migrations, and nothing of the app, the tests or the dev tools', async () => {
    expect(image.base).toMatch(/^node:22[.-]/);
    expect(image.user).toBe('node');
    expect(image.cmd).not.toContain('tsx');
    expect(image.cmd.join(' ')).not.toMatch(/--import|\.ts\b/);
    const files = await listFiles(path.join(image.root, image.workdir));
    const top = new Set(files.map(({ file }) => file.split('/')[0]));
    expect([...top].sort()).toEqual(['dist', 'node_modules', 'package-lock.json', 'package.json', 'supabase']);
    expect(
      files
        .filter(({ file }) => file.startsWith('dist/'))
        .map(({ file }) => file)
        .sort(),
    ).toEqual(['dist/worker/main.mjs', 'dist/worker/main.mjs.map']);
    const own = files.filter(({ file }) => !file.startsWith('node_modules/')).map(({ file }) => file);
    expect(own).toContain('dist/worker/main.mjs');
    expect(own.filter((file) => !/^(dist\/worker\/|supabase\/migrations\/[^/]+\.sql$|package)/.test(file))).toEqual([]);
    expect(own.filter((file) => /app\/routes|(^|\/)tests?\/|\.test\.|\.tsx?$/.test(file))).toEqual([]);
    const app = JSON.parse(await readFile('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const worker = JSON.parse(await readFile(path.join(image.root, image.workdir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const installed = (name: string) => files.some(({ file }) => file.startsWith(`node_modules/${name}/`));
    // Only what the bundle imports, at the app's locked versions; none of the app's other packages
    // (React, Remix, PGlite, tsx…) and none of its dev tools.
    expect(Object.keys(worker.dependencies).sort()).toEqual([
      '@anthropic-ai/sdk',
      'google-auth-library',
      'pg',
      'prom-client',
      'zod',
    ]);
    for (const [name, version] of Object.entries(worker.dependencies))
      expect(app.dependencies[name]).toContain(version.split('.')[0]);
    expect(Object.keys(app.devDependencies).filter(installed)).toEqual([]);
    expect(Object.keys(app.dependencies).filter((name) => !(name in worker.dependencies) && installed(name))).toEqual(
      [],
    );
    const bytes = files.reduce((sum, { bytes }) => sum + bytes, 0);
    console.info(`worker image /app: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MB`);
  });

  it('starts within 2 s with service.yaml’s environment, as a non-root user, and answers its startup probe', async () => {
    // Best of three cold starts of a fresh process: one start can be slowed by whatever else this
    // shared machine runs; a worker that is slow to start is slow every time.
    const starts: { wallMs: number; cpuMs: number }[] = [];
    let container = await startContainer();
    starts.push({ wallMs: container.readyMs, cpuMs: container.cpuMs });
    for (let i = 1; i < 3 && Math.min(...starts.map((start) => start.wallMs)) >= 2_000; i += 1) {
      container.child.kill('SIGKILL');
      await container.exited;
      container = await startContainer();
      starts.push({ wallMs: container.readyMs, cpuMs: container.cpuMs });
    }
    const wallMs = Math.min(...starts.map((start) => start.wallMs));
    const cpuMs = Math.min(...starts.map((start) => start.cpuMs));
    const load = os.loadavg()[0];
    console.info(
      `worker image: healthy after ${starts.map((start) => `${start.wallMs.toFixed(0)} ms (${start.cpuMs} ms CPU)`).join(', ')}; load ${load.toFixed(1)}`,
    );
    // The CPU the start-up costs is the worker's own, whatever else runs here.
    expect(cpuMs).toBeLessThan(2_000);
    // The wall clock is the contract; on a machine loaded far past its cores (several test suites
    // at once) it measures the others, so it is then reported, not asserted. CI runs alone.
    if (load <= os.cpus().length * 2) expect(wallMs).toBeLessThan(2_000);
    else
      console.warn(`  wall-clock start-up not asserted: load average ${load.toFixed(1)} on ${os.cpus().length} cores`);
    const health = await fetch(`${container.url}/healthz`);
    expect(await health.json()).toMatchObject({ ok: true, databaseKind: 'postgres', pendingMigrations: [] });
    if (process.getuid?.() === 0) expect(container.output()).not.toMatch(/EACCES/);
  });

  it('accepts a wake-up only with an ID token from the invoker for its own URL, and drains the queue', async () => {
    const container = await startContainer();
    const audience = serviceValue('WORKER_OIDC_AUDIENCE');
    const wake = (authorization?: string) =>
      fetch(`${container.url}/wake`, {
        method: 'POST',
        headers: authorization ? { Authorization: authorization } : {},
      });
    expect((await wake()).status).toBe(401);
    expect((await wake(`Bearer ${await google.idToken({ audience: 'https://elsewhere.example' })}`)).status).toBe(401);
    expect(
      (await wake(`Bearer ${await google.idToken({ audience, email: 'stranger@project.iam.gserviceaccount.com' })}`))
        .status,
    ).toBe(401);

    anthropic.setDefault({ text: ['# Woken\n', 'text'], delayMs: 5 });
    const { jobId } = await submitJob(database.db, newJob(chapters[0]));
    const woken = await wake(`Bearer ${await google.idToken({ audience })}`);
    expect(woken.status).toBe(200);
    expect(container.output()).toContain(`"caller":"${serviceValue('WORKER_INVOKER_EMAILS').toLowerCase()}"`);
    await expect.poll(async () => (await jobRow(database.db, jobId)).status, { timeout: 15_000 }).toBe('succeeded');
  });

  it('on SIGTERM gives its running job back and exits cleanly before Cloud Run’s SIGKILL', async () => {
    const container = await startContainer();
    anthropic.enqueue({ text: Array.from({ length: 400 }, (_, i) => `p${i} `), delayMs: 50 });
    const { jobId } = await submitJob(database.db, newJob(chapters[1]));
    // service.yaml's worker works only inside a wake-up; this one is held open until the drain ends.
    const wake = fetch(`${container.url}/wake`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await google.idToken({ audience: serviceValue('WORKER_OIDC_AUDIENCE') })}` },
    }).catch(() => null);
    await expect.poll(async () => (await jobRow(database.db, jobId)).status, { timeout: 10_000 }).toBe('running');
    const signalledAt = Date.now();
    container.child.kill('SIGTERM');
    expect(await container.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(CLOUD_RUN_SIGKILL_AFTER_MS);
    expect(await jobRow(database.db, jobId)).toMatchObject({ status: 'pending', lease_owner: null });
    await wake;
  });
});

function runOrThrow(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}:\n${output}`)),
    );
  });
}

/** CPU time (user + system) a process has used so far, from /proc. */
async function cpuMillis(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line; clock ticks are 100 a second on Linux.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
