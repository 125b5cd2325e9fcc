import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { createRequestHandler, type ServerBuild } from '@remix-run/node';

import type { Role } from '../../app/domain/permissions';
import type { Database } from '../../app/server/db/port.server';
import { parseEnv, type AppEnv } from '../../app/server/env.server';
import { createRuntime, setRuntime, type Runtime } from '../../app/server/runtime.server';
import { createOfflineGenerator } from '../../app/server/generators/offline.server';
import { createStaff } from '../../app/server/services/staff.server';

export const ORIGIN = 'http://switchyard.test';
export const PASSWORD = 'correct horse battery staple';

/**
 * The production build (made by the global setup) answering Requests in-process, on a test
 * database: loaders, actions and headers exactly as a browser would meet them.
 */
export async function createTestApp(db: Database, env: Record<string, string> = {}, overrides: Partial<Runtime> = {}) {
  const build = (await import(pathToFileURL(path.resolve('build/index.js')).href)) as ServerBuild;
  const appEnv: AppEnv = parseEnv({ NODE_ENV: 'test', ...env });
  const wakes: number[] = [];
  const runtime: Runtime = {
    ...createRuntime(appEnv, db),
    generator: createOfflineGenerator({ delayMs: 0 }),
    wakeWorker: () => void wakes.push(Date.now()),
    ...overrides,
  };
  setRuntime(runtime);
  const handle = createRequestHandler(build, 'production');

  const request = (pathname: string, init: RequestInit & { cookie?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.cookie) headers.set('Cookie', init.cookie);
    headers.set('Host', new URL(ORIGIN).host);
    const method = init.method ?? 'GET';
    // An empty Origin in a test means "send none".
    if (headers.get('Origin') === '') headers.delete('Origin');
    else if (method !== 'GET' && !headers.has('Origin')) headers.set('Origin', ORIGIN);
    return handle(new Request(`${ORIGIN}${pathname}`, { ...init, method, headers, redirect: 'manual' }));
  };

  const form = (fields: Record<string, string | string[]>) => {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
    return body;
  };

  async function signIn(email: string, password = PASSWORD): Promise<string> {
    const response = await request('/sign-in', { method: 'POST', body: form({ email, password }) });
    const cookie = response.headers.get('set-cookie');
    if (response.status !== 302 || !cookie)
      throw new Error(`sign-in failed for ${email}: ${response.status} ${await response.text()}`);
    return cookie.split(';')[0];
  }

  /** Creates a staff member with PASSWORD and returns their id and a signed-in cookie. */
  async function staffSession(role: Role, email = `${role}@example.com`) {
    const id = await createStaff(db, 'system', { email, displayName: role, role, password: PASSWORD });
    return { id, email, cookie: await signIn(email) };
  }

  return { request, form, signIn, staffSession, env: appEnv, wakes, runtime };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;
