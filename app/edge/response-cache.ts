/**
 * A small shared cache in front of the app that honours the same headers as Vercel's CDN, for
 * `npm start` and tests: `Cache-Control: s-maxage=N, stale-while-revalidate=M` makes a 200 GET
 * answer cacheable, `Vary` names the request headers in its key, `Vercel-Cache-Tag` (stripped
 * from the answer, as the CDN does) lets `invalidate(tags)` mark entries stale. A stale entry is
 * served once more while one background request revalidates it. Web APIs only.
 *
 * Stricter than the CDN in one way: an answer that varies by `Authorization` and was given to a
 * bearer JWT is kept no longer than that token's `exp` (read, not verified: the origin verified
 * it when it answered 200), so an expired token never gets a cached answer, fresh or stale.
 */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/**
 * A fresh entry as the server's fast path writes it: the stored status, headers (with the cache
 * status HIT; `Age` is per request, from `ageSeconds`) and body, the same object for every hit
 * of one entry, so a server can keep what it derives from it (its wire headers) beside it.
 */
export interface FreshHit {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
  readonly storedAt: number;
}

interface Entry {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer;
  tags: string[];
  storedAt: number;
  maxAgeMs: number;
  swrMs: number;
  /** When the bearer token the answer was keyed by expires (ms), or Infinity. */
  notAfter: number;
  invalidated: boolean;
  revalidating: boolean;
  hit: FreshHit;
}

export const CACHE_STATUS_HEADER = 'x-switchyard-cache';
const TAG_HEADER = 'vercel-cache-tag';

export function parseSharedCacheControl(value: string | null): { maxAgeMs: number; swrMs: number } | null {
  if (!value) return null;
  const directives = new Map(
    value.split(',').map((part) => {
      const [name, arg] = part.trim().toLowerCase().split('=');
      return [name, arg] as const;
    }),
  );
  if (directives.has('private') || directives.has('no-store')) return null;
  const sMaxAge = Number(directives.get('s-maxage'));
  if (!Number.isFinite(sMaxAge) || sMaxAge <= 0) return null;
  const swr = Number(directives.get('stale-while-revalidate') ?? 0);
  return { maxAgeMs: sMaxAge * 1000, swrMs: Number.isFinite(swr) ? swr * 1000 : 0 };
}

/**
 * The `exp` (as ms) of a bearer JWT, read without verifying it, or Infinity when the header holds
 * no JWT with a numeric `exp`.
 */
export function bearerExpiry(authorization: string | null): number {
  const match = authorization ? /^Bearer\s+[\w-]+\.([\w-]+)\.[\w-]*$/i.exec(authorization.trim()) : null;
  if (!match) return Infinity;
  try {
    const base64 = match[1].replace(/-/g, '+').replace(/_/g, '/');
    const { exp } = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='))) as { exp?: unknown };
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : Infinity;
  } catch {
    return Infinity;
  }
}

export function createResponseCache(options: { now?: () => number; maxEntries?: number } = {}) {
  const now = options.now ?? (() => Date.now());
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, Entry>();
  const varyByPath = new Map<string, string[]>();
  const pending = new Set<Promise<unknown>>();

  /** The key of a request: its normalised URL and the values of the headers its answer varies by. */
  const keyOf = (href: string, header: (name: string) => string | null, vary: readonly string[]) => {
    let key = href;
    for (const name of vary) key += `\n${name}:${header(name) ?? ''}`;
    return key;
  };

  const lookup = (href: string, pathname: string, header: (name: string) => string | null) => {
    const vary = varyByPath.get(pathname);
    const key = vary ? keyOf(href, header, vary) : null;
    return { key, entry: key ? entries.get(key) : undefined };
  };

  const isFresh = (entry: Entry, at: number) =>
    !entry.invalidated && at - entry.storedAt < entry.maxAgeMs && at < entry.notAfter;

  const answer = (entry: Entry, status: CacheStatus) => {
    const headers = new Headers(entry.headers);
    headers.set(CACHE_STATUS_HEADER, status);
    headers.set('age', String(Math.floor((now() - entry.storedAt) / 1000)));
    return new Response(entry.body.slice(0), { status: entry.status, headers });
  };

  async function store(request: Request, response: Response): Promise<Response> {
    const policy = response.status === 200 ? parseSharedCacheControl(response.headers.get('cache-control')) : null;
    const headers = new Headers(response.headers);
    const tags = (headers.get(TAG_HEADER) ?? '')
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean);
    headers.delete(TAG_HEADER);
    if (!policy) {
      headers.set(CACHE_STATUS_HEADER, 'BYPASS');
      return new Response(response.body, { status: response.status, headers });
    }
    const vary = (headers.get('vary') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean);
    varyByPath.set(new URL(request.url).pathname, vary);
    const body = await response.arrayBuffer();
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
    const storedAt = now();
    const stored: [string, string][] = [...headers];
    const entry: Entry = {
      status: response.status,
      headers: stored,
      body,
      tags,
      storedAt,
      ...policy,
      notAfter: vary.includes('authorization') ? bearerExpiry(request.headers.get('authorization')) : Infinity,
      invalidated: false,
      revalidating: false,
      hit: {
        status: response.status,
        headers: [...stored.filter(([name]) => name !== 'age'), [CACHE_STATUS_HEADER, 'HIT']],
        body: new Uint8Array(body),
        storedAt,
      },
    };
    entries.set(
      keyOf(request.url, (name) => request.headers.get(name), vary),
      entry,
    );
    return answer(entry, 'MISS');
  }

  return {
    /** Answers a GET or HEAD from the cache where it may, else through `next` (storing what it may). */
    async handle(request: Request, next: (request: Request) => Promise<Response>): Promise<Response> {
      if (request.method !== 'GET' && request.method !== 'HEAD') return next(request);
      const url = new URL(request.url);
      const { key, entry } = lookup(url.href, url.pathname, (name) => request.headers.get(name));
      const at = now();
      // The token this answer was keyed by has expired: the origin decides (it answers 401).
      if (entry && at >= entry.notAfter) entries.delete(key!);
      else if (entry) {
        const age = at - entry.storedAt;
        if (isFresh(entry, at)) return answer(entry, 'HIT');
        if (age < entry.maxAgeMs + entry.swrMs || entry.invalidated) {
          if (!entry.revalidating) {
            entry.revalidating = true;
            const refresh = next(request.clone())
              .then((response) => store(request, response))
              .catch(() => void (entry.revalidating = false))
              .finally(() => pending.delete(refresh));
            pending.add(refresh);
          }
          return answer(entry, 'STALE');
        }
        entries.delete(key!);
      }
      return store(request, await next(request));
    },
    /**
     * A fresh entry for a GET of `href` (already normalised, as `new URL(…).href` gives it; its
     * `pathname` beside it) as the request's headers key it, or null: the server's fast path,
     * which then builds neither a Request nor a Response nor a URL for the commonest answer. A
     * stale, expired or missing entry, or an `href` not in normal form, goes through `handle`.
     */
    fresh(href: string, pathname: string, header: (name: string) => string | null): FreshHit | null {
      const { entry } = lookup(href, pathname, header);
      return entry && isFresh(entry, now()) ? entry.hit : null;
    },
    /** The `Age` of a hit now, in whole seconds. */
    ageSeconds(hit: FreshHit): number {
      return Math.floor((now() - hit.storedAt) / 1000);
    },
    /** Marks every entry carrying one of `tags` stale (served once more while it revalidates). */
    invalidate(tags: readonly string[]): number {
      const wanted = new Set(tags);
      let count = 0;
      for (const entry of entries.values()) {
        if (entry.tags.some((tag) => wanted.has(tag))) {
          entry.invalidated = true;
          count += 1;
        }
      }
      return count;
    },
    /** Resolves when the background revalidations started so far have finished (tests). */
    async settled(): Promise<void> {
      await Promise.all([...pending]);
    },
    get size() {
      return entries.size;
    },
  };
}

export type ResponseCache = ReturnType<typeof createResponseCache>;
