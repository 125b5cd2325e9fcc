import { z } from 'zod';

import { PricesOverrideSetting } from '../app/domain/prices';

/**
 * The standalone worker's configuration (`npm run worker`, the Cloud Run image), parsed once.
 * `process.env` is read nowhere else in the worker.
 */
const schema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  DATABASE_URL: z
    .string({ message: 'is required: the worker shares the queue with the app through PostgreSQL' })
    .refine((value) => /^postgres(ql)?:\/\/[^/]+/.test(value), {
      message: 'must be a PostgreSQL URL such as postgres://user:password@host:5432/database',
    }),
  /**
   * The connection LISTEN uses (default DATABASE_URL). A transaction-mode pooler cannot carry
   * LISTEN: on Supabase use the session-mode pooler (port 5432) or the direct connection.
   */
  DATABASE_LISTEN_URL: z
    .string()
    .refine((value) => /^postgres(ql)?:\/\/[^/]+/.test(value), {
      message: 'must be a PostgreSQL URL such as postgres://user:password@host:5432/database',
    })
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(1),
  WORKER_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
  /** Cloud Run's request timeout (900 s in worker/service.yaml) minus a margin to finish cleanly. */
  WORKER_BUDGET_SECONDS: z.coerce.number().int().min(1).default(840),
  /**
   * Whether a new-job notification may start work outside a wake-up request. Cloud Run gives an
   * instance CPU only while it serves a request: set false there (worker/service.yaml), so an
   * instance works only inside the fleet's wake-ups.
   */
  WORKER_IDLE_WAKE: z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .default('true')
    .transform((value) => value === 'true' || value === '1'),
  /** Shared secret a local caller sends as `Authorization: Bearer …` to POST /wake. */
  WORKER_WAKE_SECRET: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  /** Production: the worker's own URL, the audience of the Google ID tokens it accepts. */
  WORKER_OIDC_AUDIENCE: z.url({ message: 'must be the worker service URL' }).optional(),
  /** Where Google's ID-token signing certificates are fetched: Google's by default (tests, emulators). */
  WORKER_OIDC_CERTS_URL: z.url({ message: 'must be a URL' }).optional(),
  /** Comma-separated service-account emails allowed to wake the worker with an ID token. */
  WORKER_INVOKER_EMAILS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((email) => email.trim())
        .filter(Boolean),
    ),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url({ message: 'must be a URL' }).optional(),
  /** The batch dispatcher submits a smaller provider batch once its oldest job has waited this long (ADR 0020). */
  BATCH_LINGER_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /** The first poll of a provider batch after this long; later polls back off, doubling up to 10 minutes. */
  BATCH_POLL_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  /** JSON merged over the default price table, as the app reads it (app/domain/prices.ts). */
  PRICES_OVERRIDE: PricesOverrideSetting,
});

export type WorkerEnv = z.infer<typeof schema>;

export function parseWorkerEnv(source: Record<string, string | undefined>): WorkerEnv {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`The worker cannot start: the configuration is invalid.\n${problems.join('\n')}`);
  }
  return result.data;
}
