import { SignJWT } from 'jose';

import { createRateLimiter } from '~/edge/rate-limit';
import type { LearnerApiDeps, RouteSample } from '~/edge/learner-api';
import { createSupabaseLearnerStore } from '~/edge/supabase-learner-store';

import type { SupabaseJwtConfig } from './auth/supabase-jwt.server';
import { drainWithRuntime } from './cache-invalidation.server';
import type { Queryable } from './db/port.server';
import type { AppEnv } from './env.server';
import { createSqlLearnerStore } from './learner-store.server';
import { createLogger } from './log.server';
import { activeRoutingConfig } from './routing-config.server';
import type { Runtime } from './runtime.server';

/**
 * Without Supabase Auth, learner tokens are issued locally (development and tests) under the
 * issuer of the Supabase CLI's local stack, so a client written against Supabase works as is.
 */
export const LOCAL_LEARNER_ISSUER_URL = 'http://127.0.0.1:54321';
/** WARNING: a well-known development secret; never accepted when NODE_ENV=production. */
const DEVELOPMENT_LEARNER_SECRET = 'switchyard-local-learner-tokens-development-only';

/** How learner JWTs are verified here: the Supabase project's, else local development tokens. */
export function learnerAuthConfig(env: AppEnv): SupabaseJwtConfig | null {
  if (env.SUPABASE_URL) return { supabaseUrl: env.SUPABASE_URL, jwtSecret: env.SUPABASE_JWT_SECRET };
  if (env.LEARNER_JWT_SECRET) return { supabaseUrl: LOCAL_LEARNER_ISSUER_URL, jwtSecret: env.LEARNER_JWT_SECRET };
  if (env.NODE_ENV !== 'production')
    return { supabaseUrl: LOCAL_LEARNER_ISSUER_URL, jwtSecret: DEVELOPMENT_LEARNER_SECRET };
  return null;
}

/** True when this process issues learner tokens itself (no Supabase Auth, a secret to sign with). */
export function issuesLocalLearnerTokens(env: AppEnv): boolean {
  return !env.SUPABASE_URL && Boolean(learnerAuthConfig(env)?.jwtSecret);
}

/** A learner access token as Supabase Auth shapes it, for local learners (npm start, tests). */
export async function issueLocalLearnerToken(
  env: AppEnv,
  learnerId: string,
  options: { expiresInSeconds?: number; email?: string } = {},
): Promise<string> {
  const auth = learnerAuthConfig(env);
  if (!auth?.jwtSecret || !issuesLocalLearnerTokens(env))
    throw new Error('Learner tokens are issued by Supabase Auth here, or LEARNER_JWT_SECRET is not set.');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'authenticated', ...(options.email ? { email: options.email } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(learnerId)
    .setIssuer(`${auth.supabaseUrl}/auth/v1`)
    .setAudience('authenticated')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
    .sign(new TextEncoder().encode(auth.jwtSecret));
}

/**
 * Route samples are written in batches (every 250 ms or 200 samples), not one insert per
 * request: the sample must never add a round trip to the route it measures.
 */
export function createSampleRecorder(db: Queryable, flushMs = 250, maxBatch = 200) {
  const log = createLogger({ component: 'route-samples' });
  let pending: (RouteSample & { at: string })[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    writing = writing.then(write);
    return writing;
  };
  const write = async () => {
    timer = null;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      await db.query(
        `insert into public.api_route_samples (at, route, method, destination, rule_id, config_version, status, latency_ms)
         select (s ->> 'at')::timestamptz, s ->> 'route', s ->> 'method', s ->> 'destination', s ->> 'ruleId',
                (s ->> 'configVersion')::int, (s ->> 'status')::int, (s ->> 'latencyMs')::real
         from jsonb_array_elements($1::jsonb) as s`,
        [JSON.stringify(batch)],
      );
    } catch (error) {
      log.warn('route samples were not recorded', { error: (error as Error).message, samples: batch.length });
    }
  };
  return {
    record(sample: RouteSample) {
      pending.push({ ...sample, at: new Date().toISOString() });
      if (pending.length >= maxBatch) void flush();
      else timer ??= setTimeout(() => void flush(), flushMs);
    },
    /** Writes what is pending now (tests, shutdown). */
    async flush() {
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}

export type SampleRecorder = ReturnType<typeof createSampleRecorder>;

type Deps = LearnerApiDeps & { samples: SampleRecorder; onProfileChanged: () => Promise<void> };

const log = createLogger({ component: 'learner-api' });

const depsByRuntime = new WeakMap<Runtime, Deps>();

/** The edge handlers' dependencies on this process's runtime (one set per runtime). */
export function learnerApiDeps(runtime: Runtime): Deps {
  let deps = depsByRuntime.get(runtime);
  if (!deps) {
    const { env } = runtime;
    const samples = createSampleRecorder(runtime.db);
    deps = {
      store:
        env.LEARNER_DATA === 'supabase'
          ? createSupabaseLearnerStore({ url: env.SUPABASE_URL!, anonKey: env.SUPABASE_ANON_KEY! })
          : createSqlLearnerStore(runtime.db),
      auth: learnerAuthConfig(env),
      routing: () => activeRoutingConfig(runtime),
      rateLimiter: createRateLimiter({ limit: env.LEARNER_RATE_LIMIT_PER_MINUTE, windowMs: 60_000 }),
      recordSample: (sample) => samples.record(sample),
      samples,
      // The trigger queued `profile:<learner>` with the change; send it now rather than at the
      // next sweep. Not awaited: the answer does not wait for the CDN (a failure is retried).
      onProfileChanged: async () => {
        drainWithRuntime(runtime).catch((error: Error) =>
          log.warn('cache invalidation failed; the sweeper retries it', { error: error.message }),
        );
      },
    };
    depsByRuntime.set(runtime, deps);
  }
  return deps;
}
