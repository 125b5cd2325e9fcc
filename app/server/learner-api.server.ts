import { SignJWT } from 'jose';

import { createRateLimiter } from '~/edge/rate-limit';
import type { LearnerApiDeps } from '~/edge/learner-api';
import { createSupabaseLearnerStore } from '~/edge/supabase-learner-store';

import type { SupabaseJwtConfig } from './auth/supabase-jwt.server';
import { drainWithRuntime } from './cache-invalidation.server';
import type { AppEnv } from './env.server';
import { createSqlLearnerStore } from './learner-store.server';
import { createLogger } from './log.server';
import { activeRoutingConfig } from './routing-config.server';
import { routeSamples, type SampleRecorder } from './route-samples.server';
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

type Deps = LearnerApiDeps & { samples: SampleRecorder; onProfileChanged: () => Promise<void> };

const log = createLogger({ component: 'learner-api' });

const depsByRuntime = new WeakMap<Runtime, Deps>();

/** The edge handlers' dependencies on this process's runtime (one set per runtime). */
export function learnerApiDeps(runtime: Runtime): Deps {
  let deps = depsByRuntime.get(runtime);
  if (!deps) {
    const { env } = runtime;
    const samples = routeSamples(runtime);
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
