import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { freePort } from './app-process';

/**
 * Serves a Build Output API v3 folder (`.vercel/output`, from `vercel build`) as Vercel's edge
 * network does, closely enough to run a journey through it: the routes of `config.json` in their
 * phases (headers, `filesystem`: static files then functions, rewrites to functions, `hit`),
 * static files from `static/`, and every Node.js function in a process of its own, assembled from
 * its `.vc-config.json` `filePathMap` alone (so a file the trace missed fails here as it would
 * there) and started with the runtime its `.vc-config.json` names.
 */
export interface VercelOutputConfig {
  version: number;
  routes: VercelRoute[];
  crons?: { path: string; schedule: string }[];
}

export interface VercelRoute {
  src?: string;
  dest?: string;
  headers?: Record<string, string>;
  status?: number;
  continue?: boolean;
  handle?: 'filesystem' | 'hit' | 'error' | 'miss' | 'rewrite' | 'resource';
}

export interface VcConfig {
  handler: string;
  runtime: string;
  launcherType?: string;
  maxDuration?: number;
  supportsResponseStreaming?: boolean;
  filePathMap: Record<string, string>;
}

export interface ServedOutput {
  /** Where to send requests (plain HTTP on the loopback). */
  url: string;
  /** The origin the functions see (Vercel terminates TLS: x-forwarded-proto https). */
  origin: string;
  config: VercelOutputConfig;
  /** The distinct functions (folders after symlinks), by folder. */
  functions: Map<string, VcConfig>;
  /** Which function folder served each request path, for assertions. */
  servedBy: (pathname: string) => string | null;
  output: () => string;
  close(): Promise<void>;
}

type Resolution =
  | { kind: 'static'; file: string; headers: Record<string, string> }
  | { kind: 'function'; dir: string; headers: Record<string, string> }
  | { kind: 'status'; status: number; headers: Record<string, string> };

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.mjs': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.ico': 'image/x-icon',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export async function readOutputConfig(outputDir: string): Promise<VercelOutputConfig> {
  return JSON.parse(await readFile(path.join(outputDir, 'config.json'), 'utf8')) as VercelOutputConfig;
}

export async function readVcConfig(funcDir: string): Promise<VcConfig> {
  return JSON.parse(await readFile(path.join(funcDir, '.vc-config.json'), 'utf8')) as VcConfig;
}

/** Splits the route list into Vercel's phases: the routes before any `handle`, then each handle's. */
function phases(routes: VercelRoute[]) {
  const byPhase = new Map<string, VercelRoute[]>([['main', []]]);
  let current = 'main';
  for (const route of routes) {
    if (route.handle) {
      current = route.handle;
      byPhase.set(current, []);
    } else {
      byPhase.get(current)!.push(route);
    }
  }
  return byPhase;
}

function substitute(dest: string, match: RegExpMatchArray): string {
  return dest.replace(/\$(\d+)/g, (_, n: string) => match[Number(n)] ?? '');
}

/**
 * Starts the output's router on a free port. `env` is each function's environment (as set in the
 * Vercel project); `nodeFor(runtime)` gives the Node binary for a `.vc-config.json` runtime.
 */
export async function serveVercelOutput(options: {
  outputDir: string;
  repoRoot: string;
  env: (origin: string) => Record<string, string>;
  nodeFor: (runtime: string) => string;
}): Promise<ServedOutput> {
  const outputDir = path.resolve(options.outputDir);
  const config = await readOutputConfig(outputDir);
  const routePhases = phases(config.routes);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'switchyard-vercel-'));
  const port = await freePort();
  const origin = `https://127.0.0.1:${port}`;
  const functions = new Map<string, VcConfig>();
  const hosts = new Map<string, Promise<{ port: number; child: ChildProcess }>>();
  const children: ChildProcess[] = [];
  const servedByPath = new Map<string, string>();
  let log = '';

  async function functionDir(name: string): Promise<string | null> {
    const dir = path.join(outputDir, 'functions', `${name === '' ? 'index' : name}.func`);
    if (!existsSync(path.join(dir, '.vc-config.json'))) return null;
    const real = await realpath(dir);
    if (!functions.has(real)) functions.set(real, await readVcConfig(real));
    return real;
  }

  function staticFile(pathname: string): string | null {
    const file = path.join(outputDir, 'static', pathname);
    if (!file.startsWith(path.join(outputDir, 'static'))) return null;
    return existsSync(file) && statSync(file).isFile() ? file : null;
  }

  async function lookup(
    pathname: string,
  ): Promise<{ kind: 'static'; file: string } | { kind: 'function'; dir: string } | null> {
    const name = decodeURIComponent(pathname).replace(/^\/+/, '').replace(/\/+$/, '');
    const file = name ? staticFile(name) : null;
    if (file) return { kind: 'static', file };
    const dir = await functionDir(name);
    return dir ? { kind: 'function', dir } : null;
  }

  function applyHeaders(phase: string, pathname: string, headers: Record<string, string>) {
    for (const route of routePhases.get(phase) ?? []) {
      if (route.src && route.headers && new RegExp(route.src).test(pathname)) Object.assign(headers, route.headers);
    }
  }

  async function resolve(originalPath: string): Promise<Resolution> {
    const headers: Record<string, string> = {};
    let pathname = originalPath;
    for (const route of routePhases.get('main')!) {
      const match = route.src ? pathname.match(new RegExp(route.src)) : null;
      if (!match) continue;
      Object.assign(headers, route.headers ?? {});
      if (route.status) return { kind: 'status', status: route.status, headers };
      if (route.dest) pathname = substitute(route.dest, match);
      if (!route.continue) break;
    }
    const hit = await lookup(pathname);
    if (hit) {
      applyHeaders('hit', pathname, headers);
      return { ...hit, headers } as Resolution;
    }
    for (const route of routePhases.get('filesystem') ?? []) {
      const match = route.src ? pathname.match(new RegExp(route.src)) : null;
      if (!match) continue;
      Object.assign(headers, route.headers ?? {});
      if (route.status) return { kind: 'status', status: route.status, headers };
      if (route.dest) {
        const target = await lookup(substitute(route.dest, match).replace(/^\/?/, '/'));
        if (target) return { ...target, headers } as Resolution;
      }
      if (!route.continue) break;
    }
    return { kind: 'status', status: 404, headers };
  }

  async function host(dir: string) {
    let started = hosts.get(dir);
    if (!started) {
      started = (async () => {
        const vc = functions.get(dir)!;
        // The function's files, and nothing else, as Vercel uploads them (/var/task).
        const root = path.join(scratch, path.relative(path.join(outputDir, 'functions'), dir));
        for (const [inFunction, inRepo] of Object.entries(vc.filePathMap)) {
          await mkdir(path.dirname(path.join(root, inFunction)), { recursive: true });
          await copyFile(path.join(options.repoRoot, inRepo), path.join(root, inFunction));
        }
        const hostPort = await freePort();
        const child = spawn(
          options.nodeFor(vc.runtime),
          [path.resolve('test/support/vercel-function-host.mjs'), path.join(root, vc.handler), String(hostPort)],
          {
            cwd: root,
            env: {
              PATH: process.env.PATH ?? '',
              HOME: os.tmpdir(),
              NODE_ENV: 'production',
              VERCEL: '1',
              VERCEL_ENV: 'production',
              VERCEL_REGION: 'dev1',
              ...options.env(origin),
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        children.push(child);
        child.stdout?.on('data', (chunk) => (log += chunk));
        child.stderr?.on('data', (chunk) => (log += chunk));
        const deadline = Date.now() + 30_000;
        while (!log.includes(`function ready on ${hostPort}`)) {
          if (child.exitCode !== null) throw new Error(`function ${dir} exited with ${child.exitCode}:\n${log}`);
          if (Date.now() > deadline) throw new Error(`function ${dir} did not start in 30 s:\n${log}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return { port: hostPort, child };
      })();
      hosts.set(dir, started);
    }
    return started;
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', origin);
      const target = await resolve(url.pathname);
      if (target.kind === 'status') {
        res.writeHead(target.status, { ...target.headers, 'content-type': 'text/plain' });
        res.end(target.status === 404 ? 'NOT_FOUND' : '');
        req.resume();
        return;
      }
      if (target.kind === 'static') {
        servedByPath.set(url.pathname, 'static');
        const body = await readFile(target.file);
        res.writeHead(200, {
          'content-type': CONTENT_TYPES[path.extname(target.file)] ?? 'application/octet-stream',
          'content-length': String(body.length),
          ...target.headers,
        });
        res.end(req.method === 'HEAD' ? undefined : body);
        req.resume();
        return;
      }
      servedByPath.set(url.pathname, target.dir);
      const fn = await host(target.dir);
      const forwarded = http.request(
        {
          host: '127.0.0.1',
          port: fn.port,
          method: req.method,
          path: req.url,
          headers: {
            ...req.headers,
            'x-forwarded-host': req.headers.host ?? `127.0.0.1:${port}`,
            'x-forwarded-proto': 'https',
            'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1',
            'x-real-ip': req.socket.remoteAddress ?? '127.0.0.1',
            'x-vercel-id': `dev1::${Date.now()}`,
          },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, { ...target.headers, ...answer.headers });
          answer.pipe(res);
        },
      );
      forwarded.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`FUNCTION_INVOCATION_FAILED: ${error.message}`);
      });
      req.pipe(forwarded);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`router error: ${(error as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${port}`,
    origin,
    config,
    functions,
    servedBy: (pathname) => servedByPath.get(pathname) ?? null,
    output: () => log,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
            }),
        ),
      );
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
