import type { IncomingMessage, ServerResponse } from 'node:http';

import { createRequestHandler, type ServerBuild } from '@remix-run/node';
import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';

import type { FreshHit, ResponseCache } from '~/edge/response-cache';

import { sendResponse, toFetchRequest } from './remix-handler.server';

/** The reads that carry shared-cache headers and tags: chapter content and a learner's profile. */
export function isCachedRead(pathname: string): boolean {
  return /^\/api\/chapters\/[^/]+\/?$/.test(pathname) || pathname === '/api/user/profile';
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * `npm start`'s stand-in for Vercel's CDN, in front of the whole app as the CDN is in front of the
 * functions: a GET or HEAD of a cached read with a fresh entry is answered here, straight from
 * the `node:http` request, before Express, Remix or any guard runs; everything else (misses,
 * stale entries, every other request) goes to `next` (the Express app), where
 * `cachedReadsMiddleware` fills the cache. A hit carries `baseHeaders` (the security headers every
 * response carries) where the stored answer lacks them, an `Age`, and the body's length (HEAD
 * too, as the GET would). On Vercel the CDN plays this part and neither is used.
 *
 * Measured under bench:edge, the hit path through Express (router, wrapped writeHead, a URL, a
 * header object per request) cost about twice the baseline's latency; answered here it is a
 * lookup and one `writeHead`.
 */
export function cachedReadsListener(options: {
  cache: ResponseCache;
  baseHeaders: Readonly<Record<string, string>>;
  next: Listener;
}): Listener {
  const { cache, next } = options;
  const base = Object.entries(options.baseHeaders);
  /** A hit's headers as `writeHead` takes them (name, value, name, value…), per entry and Age. */
  const wire = new WeakMap<FreshHit, { age: number; headers: string[] }>();

  const wireHeaders = (hit: FreshHit, age: number): string[] => {
    const known = wire.get(hit);
    if (known?.age === age) return known.headers;
    const headers: string[] = [];
    const present = new Set<string>();
    for (const [name, value] of hit.headers) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') continue;
      headers.push(name, value);
      present.add(lower);
    }
    for (const [name, value] of base) if (!present.has(name.toLowerCase())) headers.push(name, value);
    headers.push('age', String(age), 'content-length', String(hit.body.byteLength));
    wire.set(hit, { age, headers });
    return headers;
  };

  return (req, res) => {
    const method = req.method;
    const host = req.headers.host;
    const url = req.url;
    if ((method === 'GET' || method === 'HEAD') && host && url) {
      const query = url.indexOf('?');
      const pathname = query === -1 ? url : url.slice(0, query);
      if (isCachedRead(pathname)) {
        const hit = cache.fresh(`http://${host}${url}`, pathname, (name) => headerOf(req, name));
        if (hit) {
          res.writeHead(hit.status, wireHeaders(hit, cache.ageSeconds(hit)));
          res.end(method === 'HEAD' ? undefined : hit.body);
          return;
        }
      }
    }
    next(req, res);
  };
}

/** A request header as `Headers.get` would give it (repeated values joined). */
function headerOf(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return value === undefined ? null : typeof value === 'string' ? value : value.join(', ');
}

/**
 * The rest of the stand-in, inside Express: cacheable GETs that `cachedReadsListener` did not
 * answer (a miss, a stale entry) go through the response cache (which honours s-maxage,
 * stale-while-revalidate, Vary and cache tags, and revalidates in the background), the rest
 * straight on.
 */
export function cachedReadsMiddleware(build: ServerBuild, cache: ResponseCache) {
  const handle = createRequestHandler(build, build.mode);
  return async (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !isCachedRead(req.path)) return next();
    try {
      const response = await cache.handle(await toFetchRequest(req, res), (fresh) => handle(fresh));
      await sendResponse(res, response);
    } catch (error) {
      next(error);
    }
  };
}
