import { randomUUID } from 'node:crypto';

import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { issueLocalLearnerToken } from '../../app/server/learner-api.server';
import { submitBatch, submitJob } from '../../app/server/queue.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

/**
 * A property test of the input rule: every API route and every page loader and action, sent
 * values from each class that once reached PostgreSQL and came back as a 500 (NUL, lone
 * surrogates, numbers no column holds, impossible dates, malformed ids and cursors, very long
 * strings, wrong JSON types, odd Unicode), must answer below 500. Seeded: a failure prints the
 * seed, and FUZZ_SEED=<seed> replays exactly that run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES_PER_ROUTE = Number(process.env.FUZZ_CASES ?? 12);

/** mulberry32: small, fast and good enough to pick test values reproducibly. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  return { next, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

interface Known {
  chapters: string[];
  jobId: string;
  batchId: string;
  staffId: string;
  /** A learner's access token, for the learner edge routes. */
  learnerToken: string;
}

const UUIDISH = [
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF',
  '{00000000-0000-4000-8000-000000000000}',
  '00000000-0000-4000-8000-00000000000',
  '00000000-0000-4000-8000-0000000000000',
  '00000000\u0000-0000-4000-8000-000000000000',
];
const NUMBERISH = [
  '99999999999',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '-1',
  '0',
  '1.5',
  '1e3',
  '1e308',
  '0x10',
  'NaN',
  'Infinity',
  '-0',
  ' 7 ',
];
const DATEISH = [
  '2026-13-45',
  '2026-02-30',
  '0000-01-01',
  '9999-12-31',
  '2026-1-1',
  '2024-02-29',
  '2026-11-29T10:00:00Z',
];
const CURSORISH = [
  'x|y',
  '|',
  '2026-02-30T00:00:00.000Z|00000000-0000-4000-8000-000000000000',
  '2026-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000|x',
  '2026-01-01T25:61:00.000Z|00000000-0000-4000-8000-000000000000',
  '9999-12-31T23:59:59.999Z|00000000-0000-4000-8000-000000000000',
  '0000-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000',
];
const ODD_TEXT = [
  '',
  ' ',
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udc00',
  '\udc00\ud800',
  '😀',
  'e\u0301',
  '\u202eevil',
  '\u200b',
  '\ufeff',
  '\uffff',
  "' or 1=1 --",
  '%',
  '_\\',
  '<script>',
];

function text(rng: Rng, known: Known, valid: readonly string[] = []): string {
  const classes: (() => string)[] = [
    () => rng.pick(ODD_TEXT),
    () => rng.pick(NUMBERISH),
    () => rng.pick(DATEISH),
    () => rng.pick(UUIDISH),
    () => rng.pick(CURSORISH),
    () => 'x'.repeat(rng.pick([201, 5_000, 70_000])),
    () => rng.pick([...known.chapters.slice(0, 2), known.jobId, known.batchId]),
    () => (valid.length ? rng.pick(valid) : 'ok'),
    () => (valid.length ? rng.pick(valid) : 'ok') + rng.pick(['\u0000', '\ud800', '😀']),
  ];
  return rng.pick(classes)();
}

function jsonValue(rng: Rng, known: Known, valid: readonly string[] = [], depth = 0): unknown {
  const classes: (() => unknown)[] = [
    () => text(rng, known, valid),
    () => text(rng, known, valid),
    () => rng.pick([99999999999, 2 ** 31, -1, 0, 1.5, 1e308, -0, 2 ** 53 + 2, 4096, 0.5]),
    () => rng.pick([true, false, null]),
    () => (depth > 2 ? [] : Array.from({ length: rng.pick([0, 1, 3]) }, () => jsonValue(rng, known, valid, depth + 1))),
    () => (depth > 2 ? {} : { [text(rng, known)]: jsonValue(rng, known, valid, depth + 1) }),
  ];
  return rng.pick(classes)();
}

/** A path segment as a client would send it; lone surrogates (which encodeURIComponent refuses) as raw bytes. */
function segment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

/**
 * A request's fields: most start valid, then one to three are replaced by fuzz (or repeated).
 * A request wrong everywhere stops at the first check and never reaches the database; one
 * wrong field at a time gets past the others.
 */
function fields(rng: Rng, known: Known, spec: Record<string, readonly string[]>): [string, string][] {
  const names = Object.keys(spec);
  const entries: [string, string][] = [];
  for (const name of names) if (spec[name].length && rng.chance(0.8)) entries.push([name, rng.pick(spec[name])]);
  for (let m = rng.pick([1, 1, 2, 3]); m > 0; m--) {
    const name = rng.pick(names);
    const value = text(rng, known, spec[name]);
    const at = entries.findIndex(([existing]) => existing === name);
    if (at >= 0 && rng.chance(0.8)) entries[at] = [name, value];
    else entries.push([name, value]);
  }
  return entries;
}

/** A query string of `spec`'s fields, plus sometimes a raw, malformed percent-encoded piece. */
function query(rng: Rng, known: Known, spec: Record<string, readonly string[]>): string {
  const params = new URLSearchParams(fields(rng, known, spec));
  const names = Object.keys(spec);
  const raw = rng.chance(0.3)
    ? `&${rng.pick(names.length ? names : ['x'])}=${rng.pick(['%00', '%ED%A0%80', '%', '%zz', '%C0%80'])}`
    : '';
  const search = params.toString() + raw;
  return search ? `?${search.replace(/^&/, '')}` : '';
}

function form(rng: Rng, known: Known, spec: Record<string, readonly string[]>): URLSearchParams {
  return new URLSearchParams(fields(rng, known, spec));
}

/** A JSON body: valid values of `spec` with one or two fields fuzzed, or sometimes no JSON object at all. */
function jsonBody(rng: Rng, known: Known, spec: Record<string, readonly unknown[]>): string {
  if (rng.chance(0.1)) return rng.pick(['', '[]', '"x"', '{', 'null', '{"a":'.repeat(50), '1e999']);
  const names = Object.keys(spec);
  const body: Record<string, unknown> = {};
  for (const name of names) if (spec[name].length && rng.chance(0.8)) body[name] = rng.pick(spec[name]);
  for (let m = rng.pick([1, 1, 2]); m > 0; m--) {
    const name = rng.chance(0.1) ? text(rng, known) : rng.pick(names);
    const strings = (spec[name] ?? []).filter((value): value is string => typeof value === 'string');
    body[name] =
      Array.isArray(body[name]) && rng.chance(0.5)
        ? [...(body[name] as unknown[]), jsonValue(rng, known, strings)]
        : jsonValue(rng, known, strings);
  }
  return JSON.stringify(body);
}

type Call = { path: string; method: 'GET' | 'POST'; body?: BodyInit; headers?: Record<string, string>; api?: boolean };
interface FuzzRoute {
  name: string;
  call: (rng: Rng, known: Known) => Call;
}

const MODELS = ['claude-haiku-5-5', 'claude-sonnet-5-5'];
const ids = (known: Known) => [...known.chapters.slice(0, 3), known.jobId, known.batchId];

const SUBMIT_FIELDS = (known: Known) => ({
  model: MODELS,
  max_tokens: ['100', '4096'],
  priority: ['high', 'normal', 'low'],
  idempotency_key: ['fuzz-key-1', 'fuzz-key-2'],
  name: ['Week 1'],
  chapter_id: known.chapters.slice(0, 3),
  chapter_ids: known.chapters.slice(0, 3),
});

const SUBMIT_JSON = (known: Known, kind: 'generate-chapter' | 'batch-generate') => ({
  ...(kind === 'generate-chapter'
    ? { chapter_id: known.chapters.slice(0, 3) }
    : { chapter_ids: [known.chapters.slice(0, 2), [known.chapters[2]]], name: ['Week 1'] }),
  model: MODELS,
  max_tokens: [100, 4096],
  temperature: [0.5, null],
  priority: ['high', 'normal', 'low'],
  idempotency_key: ['fuzz-key-1', 'fuzz-key-2'],
});

const ROUTES: FuzzRoute[] = [
  // API (JSON)
  ...(['generate-chapter', 'batch-generate'] as const).map((kind): FuzzRoute => ({
    name: `POST /api/content/${kind}`,
    call: (rng, known) => ({
      path: `/api/content/${kind}`,
      method: 'POST',
      api: true,
      body: jsonBody(rng, known, SUBMIT_JSON(known, kind)),
      headers: rng.chance(0.3)
        ? { 'Idempotency-Key': rng.pick(['k', 'x'.repeat(300), 'é', '  ', 'fuzz-key-1']) }
        : ({} as Record<string, string>),
    }),
  })),
  {
    name: 'POST /api/analytics/compute',
    call: (rng, known) => ({
      path: '/api/analytics/compute',
      method: 'POST',
      api: true,
      body: jsonBody(rng, known, {
        from: ['2026-11-01', '2025-11-01', '2026-02-29'],
        to: ['2026-11-02', '2026-10-31', '2027-11-03'],
      }),
      headers: rng.chance(0.3)
        ? { 'Idempotency-Key': rng.pick(['k', 'x'.repeat(300), 'é', '  ', 'fuzz-key-2']) }
        : ({} as Record<string, string>),
    }),
  },
  ...[
    '/api/jobs/:id',
    '/api/jobs/:id/cancel',
    '/api/jobs/:id/retry',
    '/api/batches/:id',
    '/api/batches/:id/cancel',
    '/api/chapters/:id',
  ].map((template): FuzzRoute => ({
    name: template,
    call: (rng, known) => ({
      path: template.replace(':id', segment(text(rng, known, ids(known)))) + query(rng, known, { x: [] }),
      method: template.endsWith('cancel') || template.endsWith('retry') ? 'POST' : 'GET',
      api: true,
      body:
        template.endsWith('cancel') || template.endsWith('retry')
          ? jsonBody(rng, known, { reason: ['because'] })
          : undefined,
    }),
  })),
  {
    name: 'POST /api/progress/update',
    call: (rng, known) => ({
      path: '/api/progress/update',
      method: 'POST',
      api: true,
      headers: { Authorization: `Bearer ${known.learnerToken}` },
      body: jsonBody(rng, known, {
        client_event_id: ['fuzz-event-1', 'fuzz-event-2'],
        chapter_id: known.chapters.slice(0, 3),
        chapter_version: [0, 1],
        percent: [0, 42.5, 100],
        time_spent_seconds: [0, 30],
        reset: [false, true],
      }),
    }),
  },
  {
    name: 'GET /api/user/profile',
    call: (rng, known) => ({
      path: '/api/user/profile' + query(rng, known, { x: [] }),
      method: 'GET',
      api: true,
      headers: { Authorization: `Bearer ${known.learnerToken}` },
    }),
  },
  {
    name: 'GET /api/cron/sweep',
    call: (rng, known) => ({
      path: '/api/cron/sweep',
      method: 'GET',
      headers: { Authorization: `Bearer ${segment(text(rng, known))}` },
    }),
  },
  // Page loaders
  ...['/', '/batches', '/worker', '/routing', '/submit', '/admin/staff', '/admin/tokens', '/healthz'].map(
    (path): FuzzRoute => ({
      name: `GET ${path}`,
      call: (rng, known) => ({ path: path + query(rng, known, { x: [], page: ['2'] }), method: 'GET' }),
    }),
  ),
  {
    name: 'GET /jobs',
    call: (rng, known) => ({
      path:
        '/jobs' +
        query(rng, known, {
          status: ['pending', 'failed'],
          destination: ['edge', 'cloud'],
          batch: [known.batchId],
          model: MODELS,
          rule: ['default'],
          version: ['1', '2'],
          q: ['intro'],
          from: ['2026-01-01'],
          to: ['2026-12-31'],
          after: [`${new Date().toISOString()}|${known.jobId}`],
        }),
      method: 'GET',
    }),
  },
  ...['/costs', '/latency', '/costs/csv'].map((path): FuzzRoute => ({
    name: `GET ${path}`,
    call: (rng, known) => ({
      path:
        path +
        query(rng, known, {
          from: ['2026-01-01'],
          to: ['2026-02-01'],
          chart: ['daily', 'e2e'],
        }),
      method: 'GET',
    }),
  })),
  ...['/jobs/:id', '/batches/:id', '/chapters/:id'].map((template): FuzzRoute => ({
    name: `GET ${template}`,
    call: (rng, known) => ({ path: template.replace(':id', segment(text(rng, known, ids(known)))), method: 'GET' }),
  })),
  {
    name: 'GET /sign-in',
    call: (rng, known) => ({
      path: '/sign-in' + query(rng, known, { redirectTo: ['/jobs', '//evil.example'] }),
      method: 'GET',
    }),
  },
  // Page actions
  {
    name: 'POST /jobs',
    call: (rng, known) => ({
      path: '/jobs',
      method: 'POST',
      body: form(rng, known, { intent: ['cancel', 'retry'], ids: [known.jobId], confirm: ['yes'] }),
    }),
  },
  ...['/jobs/:id', '/batches/:id'].map((template): FuzzRoute => ({
    name: `POST ${template}`,
    call: (rng, known) => ({
      path: template.replace(':id', segment(text(rng, known, ids(known)))),
      method: 'POST',
      body: form(rng, known, { intent: ['cancel', 'retry'], confirm: ['yes'] }),
    }),
  })),
  {
    name: 'POST /costs',
    call: (rng, known) => ({ path: '/costs', method: 'POST', body: form(rng, known, { amount: ['100', '0.5'] }) }),
  },
  {
    name: 'POST /routing',
    call: (rng, known) => ({
      path: '/routing',
      method: 'POST',
      body: form(rng, known, {
        intent: ['save', 'publish', 'revert', 'save-publish', 'kill-switch', 'reapply'],
        version: ['1', '2'],
        base: ['0', '1'],
        apply: ['0'],
        comment: ['fuzz'],
        confirm: ['yes'],
        hybridEnabled: ['true', 'on'],
        canaryPercent: ['50'],
        stickyKey: ['chapter', 'course', 'user'],
        'rules[0].id': ['fuzz-rule'],
        'rules[0].match.path': ['/api/content/generate-*'],
        'rules[0].match.methods': ['POST'],
        'rules[0].destination': ['edge', 'cloud'],
        'rules[0].timeoutMs': ['1000'],
        'rules[99999999999].id': ['x'],
        'defaultRule.destination': ['cloud'],
        'defaultRule.timeoutMs': ['300000'],
        'defaultRule.retry.maxRetries': ['2'],
      }),
    }),
  },
  {
    name: 'POST /submit',
    call: (rng, known) => ({
      path: '/submit',
      method: 'POST',
      body: form(rng, known, {
        mode: ['single', 'batch'],
        csv: [known.chapters.slice(0, 2).join('\n')],
        ...SUBMIT_FIELDS(known),
      }),
    }),
  },
  {
    name: 'POST /admin/staff',
    call: (rng, known) => ({
      path: '/admin/staff',
      method: 'POST',
      body: form(rng, known, {
        intent: ['create', 'role', 'disable', 'enable'],
        email: ['fuzz@example.com'],
        displayName: ['Fuzz'],
        role: ['finance', 'ops'],
        password: ['a long enough password'],
        staffId: [known.staffId],
      }),
    }),
  },
  {
    name: 'POST /admin/tokens',
    call: (rng, known) => ({
      path: '/admin/tokens',
      method: 'POST',
      body: form(rng, known, { intent: ['revoke'], name: ['CMS'], scopes: ['read', 'submit'], tokenId: [known.jobId] }),
    }),
  },
  {
    name: 'POST /worker',
    call: (rng, known) => ({
      path: '/worker',
      method: 'POST',
      body: form(rng, known, {
        intent: ['scale', 'split', 'rollback'],
        etag: ['e'],
        confirm: ['yes'],
        minInstances: ['0', '1'],
        maxInstances: ['3'],
        revision: ['rev-1'],
        percent: ['50', '100'],
      }),
    }),
  },
  {
    name: 'POST /sign-in',
    call: (rng, known) => ({
      path: '/sign-in',
      method: 'POST',
      body: form(rng, known, {
        email: ['nobody@example.com'],
        password: ['wrong password'],
        redirectTo: ['/jobs'],
        accessToken: [],
      }),
    }),
  },
];

/**
 * Answers at or above 500 that are not about input: the Worker page's actions say 503 when
 * Cloud Run is not configured (as in these tests).
 */
const UPSTREAM: Record<string, number[]> = { 'POST /worker': [503] };

describe.each(databaseTargets())('fuzzed input on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let known: Known;
  let cookie: string;
  let token: string;

  beforeAll(async () => {
    test_ = await target.create();
    const chapters = await seededChapterIds(test_.db);
    const { jobId } = await submitJob(test_.db, newJob(chapters[0]));
    const { batchId } = await submitBatch(test_.db, { name: 'b', createdBy: 't' }, [newJob(chapters[1])]);
    app = await createTestApp(test_.db);
    const admin = await app.staffSession('admin');
    cookie = admin.cookie;
    ({ token } = await createApiToken(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      { name: 'fuzz', scopes: ['submit', 'read', 'cancel'] },
    ));
    const other = await app.staffSession('ops', 'ops-fuzz@example.com');
    known = {
      chapters,
      jobId,
      batchId,
      staffId: other.id,
      learnerToken: await issueLocalLearnerToken(app.env, randomUUID()),
    };
  });
  afterAll(() => test_.drop());

  it.each(ROUTES.map((route) => [route.name, route] as const))(
    '%s answers every fuzzed input below 500',
    async (name, route) => {
      // One stream of values per route, so a failing route replays alone with the same seed.
      const rng = prng(SEED ^ hash(name));
      const failures: string[] = [];
      for (let i = 0; i < CASES_PER_ROUTE; i++) {
        const call = route.call(rng, known);
        const useToken = call.api && rng.chance(0.5);
        const headers: Record<string, string> = { ...call.headers };
        if (call.api && call.method === 'POST')
          headers['Content-Type'] = rng.chance(0.9) ? 'application/json' : 'text/plain';
        if (useToken) headers.Authorization ??= `Bearer ${token}`;
        const response = await app.request(call.path, {
          method: call.method,
          body: call.body,
          headers,
          cookie: useToken ? null : cookie,
        });
        await response.arrayBuffer();
        if (response.status >= 500 && !UPSTREAM[name]?.includes(response.status)) {
          const body = typeof call.body === 'string' ? call.body : call.body?.toString();
          failures.push(
            `${response.status} ${call.method} ${call.path.slice(0, 300)} ${JSON.stringify(body?.slice(0, 300) ?? '')}`,
          );
        }
      }
      expect(failures, `FUZZ_SEED=${SEED} reproduces this run`).toEqual([]);
    },
  );
});

function hash(value: string): number {
  let h = 2166136261;
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 16777619);
  return h >>> 0;
}
