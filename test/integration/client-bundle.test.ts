import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { ServerBuild } from '@remix-run/node';

import { hasChromium, launchChromium } from '../support/chromium';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { createTestApp } from '../support/remix-app';

const SECRETS = {
  ANTHROPIC_API_KEY: 'sk-ant-api03-SENTINEL-anthropic-key',
  SUPABASE_SERVICE_ROLE_KEY: 'SENTINEL-service-role-key',
  SUPABASE_JWT_SECRET: 'SENTINEL-jwt-secret-that-is-at-least-32-chars',
  DATABASE_URL_PASSWORD: 'SENTINEL-db-password',
};

async function clientFiles(dir = path.resolve('public/build')): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? clientFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
    ),
  );
  return files.flat();
}

describe('the browser bundle and pages carry no secrets', () => {
  it('has no server-only code or secret names in the client assets of the production build', async () => {
    const files = await clientFiles();
    expect(files.length).toBeGreaterThan(5);
    const forbidden = [
      'ANTHROPIC_API_KEY',
      'SUPABASE_SERVICE_ROLE_KEY',
      'SUPABASE_JWT_SECRET',
      'DATABASE_URL',
      'WORKER_WAKE_SECRET',
      'password_hash',
      'pg_advisory_xact_lock',
      'scrypt',
      'process.env',
    ];
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      for (const needle of forbidden)
        expect(text.includes(needle), `${needle} in ${path.relative('.', file)}`).toBe(false);
    }
  });

  // The compiler replaces `.server` imports with empty modules in the browser bundle: a route that
  // uses one at module level (say `.merge(SchemaFromAServerModule)`) throws while loading there, and
  // every client-side navigation to it turns into a full page reload.
  it.skipIf(!hasChromium)('has route modules that all load in a browser', async () => {
    const build = (await import(pathToFileURL(path.resolve('build/index.js')).href)) as ServerBuild;
    const modules = Object.values(build.assets.routes).map((route) => route.module);
    const publicDir = path.resolve('public');
    const server = http.createServer(async (request, response) => {
      const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      if (pathname === '/') return response.end('<!doctype html><title>modules</title>');
      const file = path.join(publicDir, pathname);
      if (!file.startsWith(publicDir + path.sep) || !existsSync(file)) return response.writeHead(404).end();
      response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(await readFile(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      // A string, so the test runner's transform leaves the browser's own `import()` alone.
      const failures = (await page.evaluate(`(async (urls) => {
        const failed = [];
        for (const url of urls) {
          try {
            await import(url);
          } catch (error) {
            failed.push(url + ': ' + String(error));
          }
        }
        return failed;
      })(${JSON.stringify(modules)})`)) as string[];
      expect(modules.length).toBeGreaterThan(10);
      expect(failures).toEqual([]);
    } finally {
      await browser.close();
      server.close();
    }
  });

  describe.each(databaseTargets().slice(0, 1))('rendered pages ($name)', (target) => {
    let test_: TestDatabase;
    afterAll(() => test_.drop());

    it('never include configured secrets in HTML or loader data, only the public env', async () => {
      test_ = await target.create();
      const app = await createTestApp(test_.db, {
        ANTHROPIC_API_KEY: SECRETS.ANTHROPIC_API_KEY,
        SUPABASE_SERVICE_ROLE_KEY: SECRETS.SUPABASE_SERVICE_ROLE_KEY,
        SUPABASE_JWT_SECRET: SECRETS.SUPABASE_JWT_SECRET,
      });
      const admin = await app.staffSession('admin');
      const responses = await Promise.all(
        ['/sign-in', '/', '/jobs', '/admin/staff', '/admin/tokens', '/?_data=root'].map((pathname) =>
          app.request(pathname, { cookie: pathname === '/sign-in' ? null : admin.cookie }),
        ),
      );
      for (const response of responses) {
        const body = await response.text();
        for (const secret of Object.values(SECRETS)) expect(body).not.toContain(secret);
      }
      const root = (await (await app.request('/?_data=root', { cookie: admin.cookie })).json()) as {
        env: Record<string, unknown>;
      };
      expect(Object.keys(root.env).sort()).toEqual(['authMode', 'demo', 'supabaseAnonKey', 'supabaseUrl']);
    });
  });
});
