/**
 * The seed's edge routes, `GET/PATCH /api/user/profile` and `POST /api/progress/update`, as
 * handlers that take a Request and answer a Response using Web APIs only: they run unchanged on
 * Vercel's edge runtime (checked in the `edge-runtime` sandbox by learner-api.edge.test.ts) and
 * on Node. Data goes through the `LearnerStore` port, so production can reach Supabase over HTTP
 * with the learner's own JWT while `npm start` and tests use the local database.
 */
import { errors as joseErrors } from 'jose';
import type { z } from 'zod';

import { fieldErrors } from '~/domain/input';
import {
  ProfilePatchSchema,
  ProgressUpdateSchema,
  type LearnerProfile,
  type LearnerProgress,
  type LearnerStore,
} from '~/domain/learner-schemas';
import { routeHeaders, routeRequest, type RouteDecision, type RoutingConfig } from '~/domain/routing';
import { verifySupabaseAccessToken, type SupabaseJwtConfig } from '~/server/auth/supabase-jwt.server';

import { edgeApiError, readJsonObject } from './http';
import type { RateLimiter } from './rate-limit';

export const PROFILE_PATH = '/api/user/profile';
export const PROGRESS_PATH = '/api/progress/update';
export const MAX_LEARNER_BODY_BYTES = 4 * 1024;

/** How long a shared cache may serve a profile, and serve it stale while it revalidates. */
export const PROFILE_CACHE_CONTROL = 's-maxage=60, stale-while-revalidate=300';

export interface RouteSample {
  route: string;
  method: string;
  destination: RouteDecision['destination'];
  ruleId: string;
  configVersion: number;
  status: number;
  latencyMs: number;
}

export interface LearnerApiDeps {
  store: LearnerStore;
  /** How learner JWTs are verified (Supabase Auth's issuer and secret or JWKS); null: not configured. */
  auth: SupabaseJwtConfig | null;
  routing: () => Promise<{ config: RoutingConfig; version: number }>;
  rateLimiter: RateLimiter;
  /** Where the decision and latency go (the Latency page); must not throw or block. */
  recordSample: (sample: RouteSample) => void;
}

const BEARER = { 'WWW-Authenticate': 'Bearer realm="switchyard-learners"' };

/**
 * Runs one learner route: authenticate → rate limit → the route's step, then routes it (by the
 * learner when known: one `routeRequest` per request, it is pure) and records the sample.
 */
async function run(
  request: Request,
  route: string,
  deps: LearnerApiDeps,
  step: (learnerId: string, token: string) => Promise<Response>,
): Promise<Response> {
  const started = performance.now();
  const active = await deps.routing();
  let learnerId: string | undefined;
  let response: Response;
  try {
    const learner = await authenticateLearner(request, deps.auth);
    learnerId = learner.id;
    const retryAfter = deps.rateLimiter.take(learner.id);
    response =
      retryAfter === null
        ? await step(learner.id, learner.token)
        : edgeApiError(
            429,
            'rate_limited',
            `Too many requests for this learner; try again in ${retryAfter} s.`,
            undefined,
            { 'Retry-After': String(retryAfter) },
          );
  } catch (thrown) {
    if (!(thrown instanceof Response)) throw thrown;
    response = thrown;
  }
  const decision = routeRequest(request, active.config, learnerId ? { user: learnerId } : {}, active.version);
  for (const [name, value] of Object.entries(routeHeaders(decision))) response.headers.set(name, value);
  deps.recordSample({
    route,
    method: request.method,
    destination: decision.destination,
    ruleId: decision.reason.ruleId,
    configVersion: decision.reason.configVersion,
    status: response.status,
    latencyMs: performance.now() - started,
  });
  return response;
}

/**
 * The learner behind a request: a Supabase Auth access token (the same verification as staff
 * sign-in: signature, expiry, issuer, audience). A staff API token is refused by its prefix.
 */
async function authenticateLearner(
  request: Request,
  auth: SupabaseJwtConfig | null,
): Promise<{ id: string; token: string }> {
  const authorization = request.headers.get('authorization');
  const token = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined;
  if (!token)
    throw edgeApiError(
      401,
      'unauthorized',
      'Send the learner\'s Supabase access token as "Authorization: Bearer <jwt>".',
      undefined,
      BEARER,
    );
  if (token.startsWith('sy_'))
    throw edgeApiError(
      403,
      'staff_token',
      "This is a staff API token; learner routes take a learner's Supabase access token.",
    );
  if (!auth)
    throw edgeApiError(401, 'unauthorized', 'Learner sign-in is not configured on this server.', undefined, BEARER);
  try {
    const identity = await verifySupabaseAccessToken(token, auth);
    return { id: identity.userId, token };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired)
      throw edgeApiError(
        401,
        'token_expired',
        'The access token has expired; refresh the session and retry.',
        undefined,
        BEARER,
      );
    throw edgeApiError(
      401,
      'unauthorized',
      'The access token is malformed, unsigned by this project, or not for learners.',
      undefined,
      BEARER,
    );
  }
}

const STAFF_ACCOUNT = () =>
  edgeApiError(403, 'staff_account', 'Staff accounts are not learners; sign in with a learner account.');

function profileJson(profile: LearnerProfile) {
  return {
    learner_id: profile.learnerId,
    display_name: profile.displayName,
    locale: profile.locale,
    preferences: profile.preferences,
    updated_at: profile.updatedAt,
  };
}

function progressJson(progress: LearnerProgress) {
  return {
    chapter_id: progress.chapterId,
    chapter_version: progress.chapterVersion,
    percent: progress.percent,
    completed_at: progress.completedAt,
    time_spent_seconds: progress.timeSpentSeconds,
    updated_at: progress.updatedAt,
  };
}

/** The cache tag of a learner's profile (Vercel-Cache-Tag), invalidated when it changes. */
export function profileTag(learnerId: string): string {
  return `profile:${learnerId}`;
}

async function readBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  const body = await readJsonObject(request, MAX_LEARNER_BODY_BYTES);
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw edgeApiError(400, 'invalid_request', 'The request body has invalid fields.', fieldErrors(parsed.error));
  return parsed.data;
}

/**
 * GET: the learner's profile (defaults until first changed), cacheable by a shared cache for a
 * minute under the tag `profile:<learner>`, with an ETag for 304s. PATCH: change some fields;
 * `onProfileChanged` then invalidates that tag.
 */
export function handleProfile(
  request: Request,
  deps: LearnerApiDeps & { onProfileChanged?: (learnerId: string) => Promise<void> | void },
): Promise<Response> {
  return run(request, PROFILE_PATH, deps, async (learnerId, token) => {
    if (request.method === 'GET' || request.method === 'HEAD') {
      const outcome = await deps.store.getProfile(learnerId, token);
      if (outcome.kind === 'staff_account') return STAFF_ACCOUNT();
      const etag = `W/"profile-${learnerId}-${outcome.profile.updatedAt ?? 'default'}"`;
      const headers = {
        ETag: etag,
        'Cache-Control': PROFILE_CACHE_CONTROL,
        'Vercel-Cache-Tag': profileTag(learnerId),
        Vary: 'Authorization',
      };
      const ifNoneMatch = request.headers.get('if-none-match');
      if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag))
        return new Response(null, { status: 304, headers });
      return Response.json(profileJson(outcome.profile), { headers });
    }
    if (request.method === 'PATCH') {
      const patch = await readBody(request, ProfilePatchSchema);
      const outcome = await deps.store.updateProfile(learnerId, token, patch);
      if (outcome.kind === 'staff_account') return STAFF_ACCOUNT();
      await deps.onProfileChanged?.(learnerId);
      return Response.json(profileJson(outcome.profile), { headers: { 'Cache-Control': 'no-store' } });
    }
    return edgeApiError(405, 'method_not_allowed', 'GET the profile, or PATCH it with a JSON body.', undefined, {
      Allow: 'GET, PATCH',
    });
  });
}

/**
 * POST: one progress update, idempotent by `client_event_id`: a replay answers the current
 * progress with `replayed: true` and changes nothing; percent never goes backwards unless
 * `reset` is true.
 */
export function handleProgressUpdate(request: Request, deps: LearnerApiDeps): Promise<Response> {
  return run(request, PROGRESS_PATH, deps, async (learnerId, token) => {
    if (request.method !== 'POST')
      return edgeApiError(405, 'method_not_allowed', 'POST a JSON progress update.', undefined, { Allow: 'POST' });
    const update = await readBody(request, ProgressUpdateSchema);
    const outcome = await deps.store.recordProgress(learnerId, token, update);
    switch (outcome.kind) {
      case 'staff_account':
        return STAFF_ACCOUNT();
      case 'unknown_chapter':
        return edgeApiError(422, 'unknown_chapter', 'No chapter has this id.', {
          chapter_id: ['must be the id of an existing chapter'],
        });
      case 'unknown_version':
        return edgeApiError(
          422,
          'unknown_chapter_version',
          `This chapter has no version ${update.chapter_version}; its current version is ${outcome.currentVersion}.`,
          { chapter_version: [`must be at most ${outcome.currentVersion}, the chapter's current version`] },
        );
      case 'event_reused':
        return edgeApiError(
          422,
          'client_event_id_reused',
          'This client_event_id was already used for a different update; send a new id for a new update.',
          { client_event_id: ['was already used for a different update'] },
        );
      case 'applied':
      case 'replayed':
        return Response.json(
          { ...progressJson(outcome.progress), replayed: outcome.kind === 'replayed' },
          {
            headers: {
              'Cache-Control': 'no-store',
              ...(outcome.kind === 'replayed' ? { 'Idempotent-Replayed': 'true' } : {}),
            },
          },
        );
    }
  });
}
