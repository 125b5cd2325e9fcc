import { z } from 'zod';

import { PricesOverrideSetting } from '~/domain/prices';

/**
 * The app's configuration, parsed once from the environment. `process.env` is read nowhere
 * else in the app. Every variable is documented in the README's configuration table.
 */
const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be a PostgreSQL URL such as postgres://user:password@host:5432/database' },
);

const flag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  DATABASE_URL: postgresUrl.optional(),
  /**
   * The connection LISTEN uses (default DATABASE_URL). A transaction-mode pooler cannot carry
   * LISTEN: on Supabase use the session-mode pooler (port 5432) or the direct connection.
   */
  DATABASE_LISTEN_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
  EMBEDDED_WORKER: flag.default(true),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(1),
  WORKER_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url({ message: 'must be a URL' }).optional(),
  /** The batch dispatcher submits a smaller provider batch once its oldest job has waited this long (ADR 0020). */
  BATCH_LINGER_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /** The first poll of a provider batch after this long; later polls back off, doubling up to 10 minutes. */
  BATCH_POLL_SECONDS: z.coerce.number().int().min(1).max(600).default(30),

  /** The Cloud Run worker to wake after a submit; unset: only the embedded worker is woken. */
  WORKER_URL: z.url({ message: 'must be the worker service URL' }).optional(),
  /** How the app proves itself to the worker: a Google ID token (Cloud Run) or WORKER_WAKE_SECRET. */
  WORKER_AUTH: z
    .enum(['google-id-token', 'shared-secret'], { message: 'must be google-id-token or shared-secret' })
    .optional(),
  WORKER_WAKE_SECRET: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  /** Vercel Cron sends it as a bearer token to /api/cron/sweep. */
  CRON_SECRET: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  /**
   * The worker fleet's max instances when the Cloud Run service cannot be read (CLOUD_RUN_* unset):
   * at most this many wake-ups are held open at once (worker/service.yaml: maxScale 10).
   */
  FLEET_MAX_INSTANCES: z.coerce.number().int().min(1).max(1000).default(10),
  /** Pending jobs older than this get their wake-up sent again by the sweeper. */
  SWEEP_REWAKE_AFTER_SECONDS: z.coerce.number().int().min(1).default(30),
  /** Vercel Edge Config connection string; with VERCEL_API_TOKEN, routing config is published to it. */
  EDGE_CONFIG: z
    .url({ message: 'must be an Edge Config connection string (https://edge-config.vercel.com/ecfg_…?token=…)' })
    .optional(),
  VERCEL_API_TOKEN: z.string().min(1).optional(),
  VERCEL_TEAM_ID: z.string().min(1).optional(),
  VERCEL_API_URL: z.url().default('https://api.vercel.com'),
  /** The Vercel project whose CDN cache tags are invalidated (with VERCEL_API_TOKEN). */
  VERCEL_PROJECT_ID: z.string().min(1).optional(),
  /** The Cloud Run worker service the Worker page reads and steers (all three, or none). */
  CLOUD_RUN_PROJECT: z.string().min(1).optional(),
  CLOUD_RUN_REGION: z.string().min(1).optional(),
  CLOUD_RUN_SERVICE: z.string().min(1).optional(),
  /** Tests and emulators only: the Cloud Run Admin API endpoint as http://host:port. */
  CLOUD_RUN_API_ENDPOINT: z.url().optional(),
  /** Spend alerts (budget thresholds, paused batches) are POSTed here as Slack-compatible JSON. */
  ALERT_WEBHOOK_URL: z.url({ message: 'must be a webhook URL (https://hooks.slack.com/services/…)' }).optional(),
  /** JSON merged over the default price table (app/domain/prices.ts), e.g. {"cloudRun":{"vcpus":1}}. */
  PRICES_OVERRIDE: PricesOverrideSetting,

  /** The app's public origin (https://switchyard.example.com); mutating requests must come from it. */
  APP_ORIGIN: z.url({ message: 'must be an origin such as https://switchyard.example.com' }).optional(),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(12),
  /** With both set, start-up creates this admin (once) instead of the demo accounts. */
  ADMIN_EMAIL: z.email({ message: 'must be an email address' }).optional(),
  ADMIN_PASSWORD: z.string().min(12, { message: 'must be at least 12 characters' }).optional(),

  /** Supabase Auth: set SUPABASE_URL and SUPABASE_ANON_KEY to sign staff in with Supabase. */
  SUPABASE_URL: z.url({ message: 'must be the project URL, e.g. https://abc.supabase.co' }).optional(),
  SUPABASE_ANON_KEY: z.string().min(1).optional(),
  /** Verifies HS256 access tokens; without it, tokens are verified against the project's JWKS. */
  SUPABASE_JWT_SECRET: z.string().min(32, { message: 'must be the project JWT secret (32+ characters)' }).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),

  /**
   * Learners (the edge routes). Where their rows are read and written: `database` (this app's
   * DATABASE_URL / PGlite) or `supabase` (supabase-js over HTTP with the learner's own JWT).
   */
  LEARNER_DATA: z.enum(['database', 'supabase'], { message: 'must be database or supabase' }).default('database'),
  /** Without Supabase Auth: the HS256 secret of locally issued learner tokens (development only). */
  LEARNER_JWT_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  /** Requests per learner per minute on the edge routes, per instance. */
  LEARNER_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(120),
});

export type AppEnv = z.infer<typeof schema>;

const schemaWithRules = schema.superRefine((env, ctx) => {
  if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) {
    ctx.addIssue({
      code: 'custom',
      path: [env.ADMIN_EMAIL ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL'],
      message: 'set ADMIN_EMAIL and ADMIN_PASSWORD together',
    });
  }
  if (env.WORKER_AUTH === 'shared-secret' && !env.WORKER_WAKE_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['WORKER_WAKE_SECRET'],
      message: 'is required when WORKER_AUTH=shared-secret',
    });
  }
  if (Boolean(env.EDGE_CONFIG) !== Boolean(env.VERCEL_API_TOKEN)) {
    ctx.addIssue({
      code: 'custom',
      path: [env.EDGE_CONFIG ? 'VERCEL_API_TOKEN' : 'EDGE_CONFIG'],
      message: 'set EDGE_CONFIG and VERCEL_API_TOKEN together',
    });
  }
  const cloudRun = [env.CLOUD_RUN_PROJECT, env.CLOUD_RUN_REGION, env.CLOUD_RUN_SERVICE];
  if (cloudRun.some(Boolean) && !cloudRun.every(Boolean)) {
    ctx.addIssue({
      code: 'custom',
      path: ['CLOUD_RUN_SERVICE'],
      message: 'set CLOUD_RUN_PROJECT, CLOUD_RUN_REGION and CLOUD_RUN_SERVICE together',
    });
  }
  if (env.LEARNER_DATA === 'supabase' && !env.SUPABASE_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['LEARNER_DATA'],
      message: 'LEARNER_DATA=supabase needs SUPABASE_URL and SUPABASE_ANON_KEY',
    });
  }
  if (Boolean(env.SUPABASE_URL) !== Boolean(env.SUPABASE_ANON_KEY)) {
    ctx.addIssue({
      code: 'custom',
      path: [env.SUPABASE_URL ? 'SUPABASE_ANON_KEY' : 'SUPABASE_URL'],
      message: 'set SUPABASE_URL and SUPABASE_ANON_KEY together',
    });
  }
});

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Switchyard cannot start: the configuration is invalid.\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

/** Parses an environment, listing every wrong variable in one error. Empty strings count as unset. */
export function parseEnv(source: Record<string, string | undefined>): AppEnv {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = schemaWithRules.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigurationError(
      result.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const got = cleaned[name];
        return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(redact(name, got))})`}`;
      }),
    );
  }
  return result.data;
}

function redact(name: string, value: string): string {
  if (/KEY|SECRET|TOKEN|PASSWORD/.test(name)) return '…';
  if (/^DATABASE(_LISTEN)?_URL$/.test(name)) return value.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:…@');
  return value;
}

let cached: AppEnv | undefined;

export function getEnv(): AppEnv {
  cached ??= parseEnv(process.env);
  return cached;
}

/** How staff sign in: Supabase Auth when it is configured, local passwords otherwise. */
export function authMode(env: AppEnv): 'supabase' | 'password' {
  return env.SUPABASE_URL ? 'supabase' : 'password';
}

/**
 * Demo accounts (one per role, printed at start-up, announced by a banner) exist only on the
 * embedded database with no admin configured: a machine someone is trying Switchyard on.
 */
export function isDemo(env: AppEnv): boolean {
  return !env.DATABASE_URL && !env.ADMIN_EMAIL && authMode(env) === 'password';
}

/** The only configuration the browser may see. Nothing secret belongs here. */
export function publicEnv(env: AppEnv) {
  return {
    authMode: authMode(env),
    demo: isDemo(env),
    supabaseUrl: env.SUPABASE_URL ?? null,
    supabaseAnonKey: env.SUPABASE_ANON_KEY ?? null,
  };
}

export type PublicEnv = ReturnType<typeof publicEnv>;
