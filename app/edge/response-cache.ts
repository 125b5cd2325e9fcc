/**
 * A small shared cache in front of the app that honours the same headers as Vercel's CDN, for
 * `npm start` and tests: `Cache-Control: s-maxage=N, stale-while-revalidate=M` makes a 200 GET
 * answer cacheable, `Vary` names the request headers in its key, `Vercel-Cache-Tag` (stripped
 * from the answer, as the CDN does) lets `invalidate(tags)` mark entries stale. A stale entry is
 * served once more while one background request revalidates it. Web APIs only.
 */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

interface Entry {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer;
  tags: string[];
  storedAt: number;
  maxAgeMs: number;
  swrMs: number;
  invalidated: boolean;
  revalidating: boolean;
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

export function createResponseCache(options: { now?: () => number; maxEntries?: number } = {}) {
  const now = options.now ?? (() => Date.now());
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, Entry>();
  const varyByPath = new Map<string, string[]>();
  const pending = new Set<Promise<unknown>>();

  /** The key of a request: its normalised URL and the values of the headers its answer varies by. */
  const keyOf = (url: string, header: (name: string) => string | null, vary: string[]) =>
    [url, ...vary.map((name) => `${name}:${header(name) ?? ''}`)].join('\n');

  const lookup = (url: URL, header: (name: string) => string | null) => {
    const vary = varyByPath.get(url.pathname);
    const key = vary ? keyOf(url.href, header, vary) : null;
    return { key, entry: key ? entries.get(key) : undefined };
  };

  const isFresh = (entry: Entry) => !entry.invalidated && now() - entry.storedAt < entry.maxAgeMs;

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
    const entry: Entry = {
      status: response.status,
      headers: [...headers],
      body,
      tags,
      storedAt: now(),
      ...policy,
      invalidated: false,
      revalidating: false,
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
      const { key, entry } = lookup(new URL(request.url), (name) => request.headers.get(name));
      if (entry) {
        const age = now() - entry.storedAt;
        if (isFresh(entry)) return answer(entry, 'HIT');
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
     * A fresh entry for a GET of `url` (a HIT), as plain values, or null: the server's fast path,
     * which then need not build a Request nor a Response for the commonest answer. A stale or
     * missing entry goes through `handle`.
     */
    fresh(
      url: string,
      header: (name: string) => string | null,
    ): { status: number; headers: [string, string][]; body: Uint8Array } | null {
      const { entry } = lookup(new URL(url), header);
      if (!entry || !isFresh(entry)) return null;
      return {
        status: entry.status,
        headers: [
          ...entry.headers,
          [CACHE_STATUS_HEADER, 'HIT'],
          ['age', String(Math.floor((now() - entry.storedAt) / 1000))],
        ],
        body: new Uint8Array(entry.body),
      };
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
