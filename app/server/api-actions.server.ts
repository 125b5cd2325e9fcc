import type { IncomingMessage, ServerResponse } from 'node:http';

import type { ActionFunction, ServerBuild } from '@remix-run/node';

import { CROSS_SITE_MESSAGE, mayChangeState } from './auth/same-origin.server';
import {
  abortedWhenClosedEarly,
  readWholeBody,
  requestHeaders,
  sendResponse,
  WHOLE_BODY_MAX_BYTES,
} from './remix-handler.server';
import { addMissingHeadersOnWriteHead } from './security-headers.server';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** The methods Remix sends to a route's `action` (any other it answers 405). */
const ACTION_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The API's actions at fixed paths in `build`: `/api/progress/update` → that route module's
 * `action`, and so on. Only resource routes (no component, no error boundary) whose whole path
 * has no `:param` or splat, so a path names exactly one route and the route's `params` are `{}`.
 */
export function fixedPathApiActions(build: ServerBuild): Map<string, ActionFunction> {
  const actions = new Map<string, ActionFunction>();
  for (const route of Object.values(build.routes)) {
    const { action, default: component, ErrorBoundary } = route.module;
    // An index route's action takes only requests that say `?index`: left to Remix.
    if (!action || component || ErrorBoundary || route.index) continue;
    const segments: string[] = [];
    for (let at: typeof route | undefined = route; at; at = at.parentId ? build.routes[at.parentId] : undefined)
      if (at.path) segments.unshift(at.path);
    const path = `/${segments.join('/')}`;
    if (path.startsWith('/api/') && !/[:*]/.test(path)) actions.set(path, action);
  }
  return actions;
}

/**
 * `npm start`'s short way to the API's actions (progress updates, submits, profile changes): a
 * POST, PUT, PATCH or DELETE to a fixed `/api/…` path with a body of at most 64 KiB is answered
 * by its route module's `action`, called here with the web `Request` as Remix would call it,
 * from the `node:http` request, without Express or Remix's request handler. Everything else goes
 * to `next` (the Express app and Remix), and so does a body sent chunked or larger.
 *
 * Why (issue 14, issue 18, ADR 0026): for a route known by its exact path, Remix's handler
 * matched the route tree twice (flattening, ranking and compiling it each time) and built two
 * more `Request`s (the body turned into a web stream each time) before the action ran; with
 * Express around it, that was most of the app's CPU per progress update or submit, the action
 * itself a small part. What a response here still gets is what Express and Remix gave these
 * routes: the security headers (`baseHeaders`, where the route set none), the cross-site guard
 * (`mayChangeState`, as in Express), an abort signal when the client goes
 * away, a thrown `Response` answered as is, and any other error logged by the build's
 * `handleError` and answered 500 as Remix does. `test/integration/api-actions.test.ts` sends the
 * same requests both ways and compares the answers.
 *
 * On Vercel there is no Express and Remix's handler runs every route; this file is not used there.
 */
export function apiActionsListener(options: {
  build: ServerBuild;
  baseHeaders: Readonly<Record<string, string>>;
  /** APP_ORIGIN's origin, for the cross-site guard (else the request's own host). */
  appOrigin: string | null;
  next: Listener;
}): Listener {
  const { build, next } = options;
  const actions = fixedPathApiActions(build);

  const answer = async (req: IncomingMessage, res: ServerResponse, action: ActionFunction) => {
    addMissingHeadersOnWriteHead(res, options.baseHeaders);
    if (!mayChangeState(req, options.appOrigin)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end(CROSS_SITE_MESSAGE);
      return;
    }
    const request = await toWebRequest(req, res);
    let response: Response;
    try {
      const result = await action({ request, params: {}, context: {} });
      response = result instanceof Response ? result : Response.json(result);
    } catch (error) {
      response = error instanceof Response ? caught(error) : lastResortResponse(build, error, request);
    }
    await sendResponse(res, response);
  };

  return (req, res) => {
    const { method, url } = req;
    if (!ACTION_METHODS.has(method ?? '') || !url?.startsWith('/api/')) return next(req, res);
    const query = url.indexOf('?');
    const action = actions.get(query === -1 ? url : url.slice(0, query));
    const length = Number(req.headers['content-length'] ?? 0);
    if (!action || req.headers['transfer-encoding'] !== undefined || !(length <= WHOLE_BODY_MAX_BYTES))
      return next(req, res);
    answer(req, res, action).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end();
    });
  };
}

/** The web `Request` for a `node:http` request whose whole body (if any) fits in memory. */
async function toWebRequest(req: IncomingMessage, res: ServerResponse): Promise<Request> {
  const signal = abortedWhenClosedEarly(res);
  const body = await readWholeBody(req);
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url}`, {
    method: req.method,
    headers: requestHeaders(req),
    body: body.byteLength > 0 ? body : null,
    signal,
  });
}

/** A `Response` an action threw, marked as Remix marks it. */
function caught(response: Response): Response {
  try {
    response.headers.set('X-Remix-Catch', 'yes');
  } catch {
    // Immutable headers (a fetched response passed on): answered as they are, as Remix does.
  }
  return response;
}

/** What Remix answers when an action throws something other than a `Response`, after logging it. */
function lastResortResponse(build: ServerBuild, error: unknown, request: Request): Response {
  const handleError = build.entry.module.handleError;
  if (handleError) handleError(error, { request, params: {}, context: {} });
  else console.error(error);
  return new Response('Unexpected Server Error', {
    status: 500,
    headers: { 'content-type': 'text/plain' },
  });
}
