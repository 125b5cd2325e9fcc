import { timingSafeEqual } from 'node:crypto';

import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import type { Action } from '~/domain/permissions';
import { fieldErrors } from '~/domain/submit-schemas';

import { requireApiCaller, type ApiCaller } from './auth/auth.server';
import { apiError, readApiHeader, readJsonBody } from './http.server';
import { getRuntime, type Runtime } from './runtime.server';

/** What an /api route declares once; the builder answers everything else the same way for all. */
interface ApiRouteSpec<Body> {
  /** The permission a staff caller's role needs; a token needs the scope that stands for it (401/403). */
  permission: Action;
  /** The route's uuid `:param`; anything else is a 404 with `notFound`. */
  id?: { param: string; notFound: string };
  /** A JSON body checked against `schema`, at most `maxBytes` (413, 415, 400 naming the fields). */
  body?: { schema: z.ZodType<Body>; maxBytes: number };
  handle: (context: {
    request: Request;
    caller: ApiCaller;
    runtime: Runtime;
    /** The parsed `id` param ('' when the route declares none). */
    id: string;
    body: Body;
  }) => Promise<Response>;
}

/**
 * An /api loader or action: authenticate (`requireApiCaller`), parse the uuid param or 404,
 * read and check the body, then the route's own step. The preamble every API route repeated.
 */
export function apiRoute<Body = undefined>(
  spec: ApiRouteSpec<Body>,
): (args: LoaderFunctionArgs | ActionFunctionArgs) => Promise<Response> {
  return async ({ request, params }) => {
    const caller = await requireApiCaller(request, spec.permission);
    let id = '';
    if (spec.id) {
      const parsed = z.uuid().safeParse(params[spec.id.param]);
      if (!parsed.success) return apiError(404, 'not_found', spec.id.notFound);
      id = parsed.data;
    }
    const body = spec.body ? await readSubmission(request, spec.body.schema, spec.body.maxBytes) : undefined;
    return spec.handle({ request, caller, runtime: await getRuntime(), id, body: body as Body });
  };
}

/**
 * A route only Vercel Cron calls (vercel.json): off (404) until CRON_SECRET is set, then it
 * needs `Authorization: Bearer <CRON_SECRET>` (401), compared in constant time.
 */
export function cronRoute(
  handle: (runtime: Runtime) => Promise<Response>,
): (args: LoaderFunctionArgs) => Promise<Response> {
  return async ({ request }) => {
    const runtime = await getRuntime();
    const secret = runtime.env.CRON_SECRET;
    if (!secret) return apiError(404, 'not_found', 'This cron route is off: set CRON_SECRET to enable it.');
    const given = Buffer.from(request.headers.get('authorization') ?? '');
    const expected = Buffer.from(`Bearer ${secret}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return apiError(401, 'unauthorized', 'This cron route needs Authorization: Bearer <CRON_SECRET>.');
    return handle(runtime);
  };
}

/** The loader of a POST-only API route: 405 saying what to send instead. */
export function methodNotAllowed(message: string): () => Response {
  return () => apiError(405, 'method_not_allowed', message);
}

/**
 * An API submission's JSON body checked against `schema`, with an `Idempotency-Key` header
 * taking the place of the body's `idempotency_key`. Throws the 4xx answer when it is wrong.
 */
async function readSubmission<T>(request: Request, schema: z.ZodType<T>, maxBytes: number): Promise<T> {
  const body = await readJsonBody(request, maxBytes);
  const headerKey = readApiHeader(request, 'Idempotency-Key') ?? undefined;
  const parsed = schema.safeParse({ ...body, ...(headerKey ? { idempotency_key: headerKey } : {}) });
  if (!parsed.success)
    throw apiError(400, 'invalid_request', 'The request body has invalid fields.', fieldErrors(parsed.error));
  return parsed.data;
}
