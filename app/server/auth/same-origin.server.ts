import type { IncomingMessage } from 'node:http';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface OriginFacts {
  method: string;
  origin: string | null;
  fetchSite: string | null;
  /** This app's origin: APP_ORIGIN when configured, else the origin the request was sent to. */
  expectedOrigin: string;
}

/**
 * True when a request may change state: a safe method, or one sent by this app's own pages.
 * Browsers send Origin on every POST; a cross-site form or fetch carries the other site's.
 */
export function isSameOriginRequest(facts: OriginFacts): boolean {
  if (SAFE_METHODS.has(facts.method.toUpperCase())) return true;
  if (facts.origin) return facts.origin === facts.expectedOrigin;
  return facts.fetchSite === 'same-origin';
}

export const CROSS_SITE_MESSAGE = 'This request came from another site and was refused. Reload the page and try again.';

/**
 * A request to the API that carries no cookie cannot ride on anybody's session, so the
 * cross-site guard has nothing to protect there: it goes on to the route, which tells a caller
 * without a token 401 "missing or invalid token" in JSON rather than the guard's 403 text.
 * With a cookie the guard stays, since the browser may have attached a session.
 */
export function isCookielessApiRequest(pathname: string, cookie: string | null | undefined): boolean {
  return pathname.startsWith('/api/') && !cookie;
}

/**
 * The server's cross-site guard for a `node:http` request (Express's and the API actions'
 * listener's alike): a safe method or a same-origin one, or an API call that cannot ride on a
 * session (a bearer token, or no cookie at all). `appOrigin` is APP_ORIGIN's origin, else the
 * request's own `http://<host>`.
 */
export function mayChangeState(req: IncomingMessage, appOrigin: string | null): boolean {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : null;
  };
  const facts = {
    method: req.method ?? 'GET',
    origin: header('origin'),
    fetchSite: header('sec-fetch-site'),
    expectedOrigin: appOrigin ?? `http://${header('host')}`,
  };
  const pathname = (req.url ?? '/').split('?')[0];
  return (
    isSameOriginRequest(facts) || Boolean(header('authorization')) || isCookielessApiRequest(pathname, header('cookie'))
  );
}
