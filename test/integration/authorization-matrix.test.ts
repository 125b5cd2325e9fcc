import { ROLES, type Role } from '../../app/domain/permissions';
import { createApiToken, revokeApiToken } from '../../app/server/auth/api-tokens.server';
import { setStaffDisabled } from '../../app/server/services/staff.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { submitBatch, submitJob } from '../../app/server/queue.server';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

/**
 * Every route that changes something, and every page, against every kind of caller. Each row
 * names the roles allowed; everyone else must get exactly: anonymous or disabled → sign-in
 * (pages and actions) or 401 (API); signed-in without permission → 403. (Sign-out, which any
 * caller may do, is covered in auth.test.ts: it would end the sessions this matrix reuses.)
 */
interface RouteCase {
  name: string;
  method: 'GET' | 'POST';
  api?: boolean;
  path: (ctx: Context) => string;
  body?: (ctx: Context) => BodyInit;
  allowed: readonly Role[];
}

interface Context {
  app: TestApp;
  chapters: string[];
  jobId: string;
  batchId: string;
  unique: string;
}

const ALL = ROLES;
const SUBMITTERS: Role[] = ['content_manager', 'ops', 'admin'];
const jsonBody = (value: unknown) => JSON.stringify(value);
const form = (fields: Record<string, string | string[]>) => {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
  return body;
};

export const ROUTES: RouteCase[] = [
  { name: 'overview page', method: 'GET', path: () => '/', allowed: ALL },
  { name: 'jobs page', method: 'GET', path: () => '/jobs', allowed: ALL },
  { name: 'batches page', method: 'GET', path: () => '/batches', allowed: ALL },
  { name: 'worker page', method: 'GET', path: () => '/worker', allowed: ALL },
  { name: 'chapter page', method: 'GET', path: (ctx) => `/chapters/${ctx.chapters[0]}`, allowed: ALL },
  {
    name: 'revert a chapter',
    method: 'POST',
    path: (ctx) => `/chapters/${ctx.chapters[0]}`,
    body: () => form({ intent: 'revert', version: '1' }),
    allowed: SUBMITTERS,
  },
  { name: 'costs page', method: 'GET', path: () => '/costs', allowed: ['finance', 'admin'] },
  { name: 'routing page', method: 'GET', path: () => '/routing', allowed: ['ops', 'admin'] },
  { name: 'staff admin page', method: 'GET', path: () => '/admin/staff', allowed: ['admin'] },
  { name: 'API tokens page', method: 'GET', path: () => '/admin/tokens', allowed: ['admin'] },
  {
    name: 'create staff',
    method: 'POST',
    path: () => '/admin/staff',
    body: (ctx) =>
      form({ intent: 'create', email: `new-${ctx.unique}@example.com`, displayName: 'New', role: 'finance' }),
    allowed: ['admin'],
  },
  {
    name: 'create API token',
    method: 'POST',
    path: () => '/admin/tokens',
    body: () => form({ name: 'CMS', scopes: ['read'] }),
    allowed: ['admin'],
  },
  {
    name: 'save routing config',
    method: 'POST',
    path: () => '/routing',
    body: () => form({ intent: 'save', comment: 'matrix' }),
    allowed: ['ops', 'admin'],
  },
  {
    name: 'routing page heartbeat',
    method: 'POST',
    path: () => '/routing/presence',
    body: () => form({ tab: crypto.randomUUID(), base: '0', dirty: 'false' }),
    allowed: ['ops', 'admin'],
  },
  {
    name: 'revert routing config',
    method: 'POST',
    path: () => '/routing',
    body: () => form({ intent: 'revert', version: '999' }),
    allowed: ['ops', 'admin'],
  },
  {
    name: 'POST /api/content/generate-chapter',
    method: 'POST',
    api: true,
    path: () => '/api/content/generate-chapter',
    body: (ctx) => jsonBody({ chapter_id: ctx.chapters[0] }),
    allowed: SUBMITTERS,
  },
  {
    name: 'POST /api/content/batch-generate',
    method: 'POST',
    api: true,
    path: () => '/api/content/batch-generate',
    body: (ctx) => jsonBody({ chapter_ids: ctx.chapters.slice(0, 2) }),
    allowed: SUBMITTERS,
  },
  {
    name: 'POST /api/analytics/compute',
    method: 'POST',
    api: true,
    path: () => '/api/analytics/compute',
    body: () => jsonBody({ from: '2026-11-01', to: '2026-11-02' }),
    allowed: ['finance', 'admin'],
  },
  { name: 'GET /api/jobs/:id', method: 'GET', api: true, path: (ctx) => `/api/jobs/${ctx.jobId}`, allowed: ALL },
  {
    name: 'POST /api/jobs/:id/cancel',
    method: 'POST',
    api: true,
    path: (ctx) => `/api/jobs/${ctx.jobId}/cancel`,
    body: () => '{}',
    allowed: SUBMITTERS,
  },
  {
    name: 'POST /api/jobs/:id/retry',
    method: 'POST',
    api: true,
    path: (ctx) => `/api/jobs/${ctx.jobId}/retry`,
    body: () => '{}',
    allowed: SUBMITTERS,
  },
  {
    name: 'GET /api/batches/:id',
    method: 'GET',
    api: true,
    path: (ctx) => `/api/batches/${ctx.batchId}`,
    allowed: ALL,
  },
  {
    name: 'POST /api/batches/:id/cancel',
    method: 'POST',
    api: true,
    path: (ctx) => `/api/batches/${ctx.batchId}/cancel`,
    body: () => '{}',
    allowed: SUBMITTERS,
  },
  { name: 'GET /api/chapters', method: 'GET', api: true, path: () => '/api/chapters?limit=5', allowed: ALL },
  {
    name: 'GET /api/chapters/:id',
    method: 'GET',
    api: true,
    path: (ctx) => `/api/chapters/${ctx.chapters[0]}`,
    allowed: ALL,
  },
];

type Subject = { kind: 'anonymous' } | { kind: 'disabled' } | { kind: 'role'; role: Role } | { kind: 'revoked-token' };
const SUBJECTS: Subject[] = [
  { kind: 'anonymous' },
  { kind: 'disabled' },
  { kind: 'revoked-token' },
  ...ROLES.map((role) => ({ kind: 'role', role }) as const),
];

describe.each(databaseTargets())('authorization matrix on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapters: string[];
  let cookies: Record<string, string>;
  let disabledCookie: string;
  let revokedToken: string;
  let jobId: string;
  let batchId: string;

  beforeAll(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    ({ jobId } = await submitJob(test_.db, newJob(chapters[0])));
    ({ batchId } = await submitBatch(test_.db, { name: 'b', createdBy: 't' }, [
      newJob(chapters[1]),
      newJob(chapters[2]),
    ]));
    app = await createTestApp(test_.db);
    cookies = {};
    for (const role of ROLES) cookies[role] = (await app.staffSession(role)).cookie;
    const disabled = await app.staffSession('admin', 'disabled-admin@example.com');
    disabledCookie = disabled.cookie;
    const adminRow = { id: disabled.id, email: disabled.email, displayName: 'x', role: 'admin' as const };
    const { id, token } = await createApiToken(test_.db, adminRow, {
      name: 'old',
      scopes: ['submit', 'read', 'cancel'],
    });
    await revokeApiToken(test_.db, adminRow, id);
    revokedToken = token;
    await setStaffDisabled(test_.db, { ...adminRow, id: '00000000-0000-4000-8000-000000000000' }, disabled.id, true);
  });
  afterAll(() => test_.drop());

  const cases = ROUTES.flatMap((route) => SUBJECTS.map((subject) => [route, subject] as const));

  it.each(cases.map(([route, subject]) => [route.name, describeSubject(subject), route, subject] as const))(
    '%s as %s',
    async (_name, _who, route, subject) => {
      const ctx: Context = { app, chapters, jobId, batchId, unique: Math.random().toString(36).slice(2) };
      const headers: Record<string, string> = {};
      let cookie: string | null = null;
      if (subject.kind === 'role') cookie = cookies[subject.role];
      if (subject.kind === 'disabled') cookie = disabledCookie;
      if (subject.kind === 'revoked-token') headers.Authorization = `Bearer ${revokedToken}`;
      if (route.api && route.method === 'POST') headers['Content-Type'] = 'application/json';
      const response = await app.request(route.path(ctx), {
        method: route.method,
        body: route.body?.(ctx),
        cookie,
        headers,
      });
      const status = response.status;
      const location = response.headers.get('location') ?? '';

      if (subject.kind === 'role' && route.allowed.includes(subject.role)) {
        // Allowed: whatever the action's own answer (a 409 for a second retry, a 400 for a bad
        // form), never refused for who the caller is.
        expect([401, 403], `${route.name} should be allowed for ${subject.role}`).not.toContain(status);
        expect(location).not.toMatch(/^\/sign-in/);
      } else if (subject.kind === 'role') {
        expect(status).toBe(403);
        if (route.api) expect(await response.json()).toMatchObject({ error: { code: 'forbidden' } });
      } else if (route.api) {
        expect(status).toBe(401);
        expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
      } else {
        expect(status).toBe(302);
        expect(location).toMatch(/^\/sign-in/);
      }
    },
  );
});

function describeSubject(subject: Subject): string {
  return subject.kind === 'role' ? subject.role : subject.kind;
}
