import { createRequestHandler, type ServerBuild } from '@remix-run/node';
import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';

import type { ResponseCache } from '~/edge/response-cache';

/** The reads that carry shared-cache headers and tags: chapter content and a learner's profile. */
export function isCachedRead(pathname: string): boolean {
  return /^\/api\/chapters\/[^/]+\/?$/.test(pathname) || pathname === '/api/user/profile';
}

/**
 * `npm start`'s stand-in for Vercel's CDN: cacheable GETs go through the in-process response
 * cache (which honours s-maxage, stale-while-revalidate, Vary and cache tags), the rest straight
 * to Remix. On Vercel the CDN plays this part and this middleware is not used.
 */
export function cachedReadsMiddleware(build: ServerBuild, cache: ResponseCache) {
  const handle = createRequestHandler(build, build.mode);
  return async (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !isCachedRead(req.path)) return next();
    const url = `${req.protocol}://${req.get('host')}${req.originalUrl}`;
    // The commonest answer, a fresh hit, without building a Request and a Response for it.
    const hit = cache.fresh(url, (name) => req.get(name) ?? null);
    if (hit) {
      for (const [name, value] of hit.headers) res.setHeader(name, value);
      res.status(hit.status).end(req.method === 'HEAD' ? undefined : hit.body);
      return;
    }
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers.set(name, value);
        else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
      }
      const request = new Request(url, {
        method: req.method,
        headers,
      });
      const response = await cache.handle(request, (fresh) => handle(fresh));
      res.status(response.status);
      response.headers.forEach((value, name) => {
        if (name !== 'set-cookie') res.setHeader(name, value);
      });
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) res.setHeader('set-cookie', cookies);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      next(error);
    }
  };
}
