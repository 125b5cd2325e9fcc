import { createCookie, redirect } from '@remix-run/node';

import { can, type Action, type TokenScope } from '~/domain/permissions';

import type { AppEnv } from '../env.server';
import { apiError, clientAddress } from '../http.server';
import { getRuntime } from '../runtime.server';
import { verifyApiToken } from './api-tokens.server';
import { CROSS_SITE_MESSAGE, isSameOriginRequest } from './same-origin.server';
import { findSessionStaff, type SessionMeta } from './sessions.server';
import type { Staff } from './staff.server';

/**
 * Request-level auth helpers that throw: a loader or action reads as a list of requirements.
 * Every mutating request authenticated by cookie must also come from our own origin (CSRF).
 */

function sessionCookie(env: AppEnv) {
  const production = env.NODE_ENV === 'production';
  // __Host- cookies must be Secure, host-only and path=/: no subdomain can set or read them.
  return createCookie(production ? '__Host-switchyard_session' : 'switchyard_session', {
    httpOnly: true,
    secure: production,
    sameSite: 'lax',
    path: '/',
    maxAge: env.SESSION_TTL_HOURS * 3600,
  });
}

export async function commitSessionCookie(env: AppEnv, token: string): Promise<string> {
  return sessionCookie(env).serialize(token);
}

export async function clearSessionCookie(env: AppEnv): Promise<string> {
  return sessionCookie(env).serialize('', { maxAge: 0 });
}

export async function readSessionToken(request: Request, env: AppEnv): Promise<string | null> {
  const value = await sessionCookie(env).parse(request.headers.get('Cookie'));
  return typeof value === 'string' && value.length > 0 ? value : null;
}

export function sessionMeta(request: Request, env: AppEnv): SessionMeta {
  return {
    ip: clientAddress(request),
    userAgent: request.headers.get('user-agent') ?? '',
    ttlHours: env.SESSION_TTL_HOURS,
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Refuses (403) a state-changing browser request that did not come from this app's own pages. */
export function assertSameOrigin(request: Request, env: AppEnv): void {
  const sameOrigin = isSameOriginRequest({
    method: request.method,
    origin: request.headers.get('origin'),
    fetchSite: request.headers.get('sec-fetch-site'),
    expectedOrigin: env.APP_ORIGIN ? new URL(env.APP_ORIGIN).origin : new URL(request.url).origin,
  });
  if (!sameOrigin) throw new Response(CROSS_SITE_MESSAGE, { status: 403, statusText: 'Cross-site request refused' });
}

/** The signed-in staff member, or null. */
export async function getStaff(request: Request): Promise<Staff | null> {
  const { db, env } = await getRuntime();
  const token = await readSessionToken(request, env);
  return token ? findSessionStaff(db, token) : null;
}

/** The signed-in staff member; otherwise a redirect to sign-in that comes back here. */
export async function requireStaff(request: Request): Promise<Staff> {
  const { env } = await getRuntime();
  const staff = await getStaff(request);
  if (!staff) {
    const url = new URL(request.url);
    const back = SAFE_METHODS.has(request.method) ? `${url.pathname}${url.search}` : '/';
    throw redirect(`/sign-in?redirectTo=${encodeURIComponent(back)}`);
  }
  assertSameOrigin(request, env);
  return staff;
}

/** The signed-in staff member if their role allows `action`; a 403 otherwise. */
export async function requirePermission(request: Request, action: Action): Promise<Staff> {
  const staff = await requireStaff(request);
  if (!can(staff.role, action)) {
    throw new Response(`Your role (${staff.role.replace('_', ' ')}) may not do this. Ask an admin if you need it.`, {
      status: 403,
      statusText: 'Forbidden',
    });
  }
  return staff;
}

export type ApiCaller =
  | { kind: 'staff'; staff: Staff; actor: string }
  | { kind: 'token'; token: { id: string; name: string; scopes: TokenScope[] }; actor: string };

const SCOPE_FOR: Partial<Record<Action, TokenScope>> = {
  'jobs.view': 'read',
  'jobs.submit': 'submit',
  'jobs.retry': 'submit',
  'jobs.cancel': 'cancel',
  'analytics.compute': 'analytics',
};

/** A Supabase access token (three base64url parts); staff API tokens start with `sy_`. */
const LOOKS_LIKE_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** RFC 6750: a 401 names the scheme that would have been accepted. */
const BEARER = { 'WWW-Authenticate': 'Bearer realm="switchyard"' };

/**
 * For /api/* routes: a bearer API token with the scope for `action`, or a staff session whose
 * role allows it. Failures are JSON: 401 when nobody valid is calling, 403 when not allowed.
 */
export async function requireApiCaller(request: Request, action: Action): Promise<ApiCaller> {
  const { db, env } = await getRuntime();
  const authorization = request.headers.get('authorization');
  if (authorization) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    if (bearer && LOOKS_LIKE_JWT.test(bearer))
      throw apiError(
        403,
        'learner_token',
        "This looks like a learner's access token; staff API routes take a staff API token (sy_…) or a staff session.",
      );
    const token = bearer ? await verifyApiToken(db, bearer) : null;
    if (!token)
      throw apiError(
        401,
        'unauthorized',
        'The API token is missing, malformed, unknown or revoked.',
        undefined,
        BEARER,
      );
    const scope = SCOPE_FOR[action];
    if (!scope || !token.scopes.includes(scope)) {
      throw apiError(403, 'forbidden', `This API token lacks the "${scope ?? action}" scope.`);
    }
    return { kind: 'token', token, actor: `token:${token.name}` };
  }
  const sessionToken = await readSessionToken(request, env);
  const staff = sessionToken ? await findSessionStaff(db, sessionToken) : null;
  if (!staff)
    throw apiError(
      401,
      'unauthorized',
      'Missing or invalid token: send an API token as "Authorization: Bearer <token>", or sign in.',
      undefined,
      BEARER,
    );
  try {
    assertSameOrigin(request, env);
  } catch {
    throw apiError(403, 'cross_site', 'This request came from another site and was refused.');
  }
  if (!can(staff.role, action)) throw apiError(403, 'forbidden', `Your role (${staff.role}) may not do this.`);
  return { kind: 'staff', staff, actor: staff.email };
}
