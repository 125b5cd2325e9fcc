import { bearerExpiry, CACHE_STATUS_HEADER, createResponseCache, parseSharedCacheControl } from './response-cache';

describe('the in-process shared cache', () => {
  let clock = 0;
  let served = 0;
  const origin =
    (cacheControl: string, extra: Record<string, string> = {}) =>
    async () =>
      new Response(`answer ${++served}`, {
        headers: { 'Cache-Control': cacheControl, 'Vercel-Cache-Tag': 'a,b', Vary: 'Authorization', ...extra },
      });
  const get = (auth = 'one') => new Request('http://app.test/thing', { headers: { Authorization: auth } });
  const status = (response: Response) => response.headers.get(CACHE_STATUS_HEADER);

  beforeEach(() => {
    clock = 0;
    served = 0;
  });

  it('serves fresh for s-maxage, stale while revalidating, then fetches again when past both', async () => {
    const cache = createResponseCache({ now: () => clock });
    const next = origin('s-maxage=10, stale-while-revalidate=20');
    expect(status(await cache.handle(get(), next))).toBe('MISS');
    clock = 9_000;
    expect(await (await cache.handle(get(), next)).text()).toBe('answer 1');
    clock = 15_000;
    const stale = await cache.handle(get(), next);
    expect([status(stale), await stale.text()]).toEqual(['STALE', 'answer 1']);
    await cache.settled();
    expect(await (await cache.handle(get(), next)).text()).toBe('answer 2');
    clock = 60_000;
    const expired = await cache.handle(get(), next);
    expect([status(expired), await expired.text()]).toEqual(['MISS', 'answer 3']);
  });

  it('keys by the Vary headers and invalidates by tag only the tagged entries', async () => {
    const cache = createResponseCache({ now: () => clock });
    const next = origin('s-maxage=60');
    await cache.handle(get('one'), next);
    expect(status(await cache.handle(get('two'), next))).toBe('MISS');
    expect(cache.invalidate(['c'])).toBe(0);
    expect(cache.invalidate(['b'])).toBe(2);
    expect(status(await cache.handle(get('one'), next))).toBe('STALE');
  });

  it('never stores private, no-store, non-200 or non-GET answers', async () => {
    const cache = createResponseCache();
    expect(status(await cache.handle(get(), origin('private, s-maxage=60')))).toBe('BYPASS');
    expect(status(await cache.handle(get(), origin('no-store')))).toBe('BYPASS');
    const notFound = async () => new Response('no', { status: 404, headers: { 'Cache-Control': 's-maxage=60' } });
    expect(status(await cache.handle(get(), notFound))).toBe('BYPASS');
    const post = new Request('http://app.test/thing', { method: 'POST', body: 'x' });
    expect(status(await cache.handle(post, origin('s-maxage=60')))).toBeNull();
    expect(cache.size).toBe(0);
    expect(parseSharedCacheControl('max-age=60')).toBeNull();
  });

  it('answers a fresh entry by URL and Vary headers without a Request (the fast path), and nothing else', async () => {
    const cache = createResponseCache({ now: () => clock });
    const header = (auth: string) => (name: string) => (name === 'authorization' ? auth : null);
    const fresh = (auth: string) => cache.fresh('http://app.test/thing', '/thing', header(auth));
    expect(fresh('one')).toBeNull();
    await cache.handle(get('one'), origin('s-maxage=10, stale-while-revalidate=20'));
    const hit = fresh('one');
    expect([hit?.status, new TextDecoder().decode(hit?.body)]).toEqual([200, 'answer 1']);
    const headers = new Headers(hit?.headers.map(([name, value]) => [name, value]));
    expect(headers.get(CACHE_STATUS_HEADER)).toBe('HIT');
    expect(headers.has('vercel-cache-tag')).toBe(false);
    expect(fresh('one')).toBe(hit); // one object per entry: a server may keep its wire form beside it
    clock = 3_500;
    expect(cache.ageSeconds(hit!)).toBe(3);
    expect(fresh('two')).toBeNull();
    expect(cache.fresh('http://app.test/other', '/other', header('one'))).toBeNull();
    cache.invalidate(['a']);
    expect(fresh('one')).toBeNull();
    await cache.handle(get('one'), origin('s-maxage=10'));
    await cache.settled();
    expect(fresh('one')).not.toBeNull();
    clock = 13_500;
    expect(fresh('one')).toBeNull();
  });

  it('never answers from the cache, fresh or stale, once the bearer token it was keyed by has expired', async () => {
    const cache = createResponseCache({ now: () => clock });
    const next = origin('s-maxage=60, stale-while-revalidate=300');
    const token = `Bearer ${fakeJwt({ sub: 'learner', exp: 30 })}`;
    const fresh = () =>
      cache.fresh('http://app.test/thing', '/thing', (name) => (name === 'authorization' ? token : null));
    expect(status(await cache.handle(get(token), next))).toBe('MISS');
    clock = 29_000;
    expect(fresh()).not.toBeNull();
    expect(status(await cache.handle(get(token), next))).toBe('HIT');
    clock = 30_000; // s-maxage has 30 s to go, but the token has expired: the origin decides
    expect(fresh()).toBeNull();
    expect(status(await cache.handle(get(token), next))).toBe('MISS');
    expect(served).toBe(2);
    // Invalidated while the token was valid, then expired: no stale answer either.
    clock = 0;
    await cache.handle(get(token), next);
    cache.invalidate(['a']);
    clock = 31_000;
    expect(status(await cache.handle(get(token), next))).toBe('MISS');
  });

  it('reads a bearer JWT expiry without verifying it, and nothing from anything else', () => {
    expect(bearerExpiry(`Bearer ${fakeJwt({ exp: 1_700_000_000 })}`)).toBe(1_700_000_000_000);
    expect(bearerExpiry(`bearer  ${fakeJwt({ exp: 5, name: 'Zoë ~~~ ???' })}`)).toBe(5_000);
    expect(bearerExpiry(`Bearer ${fakeJwt({ sub: 'no expiry' })}`)).toBe(Infinity);
    expect(bearerExpiry(`Bearer ${fakeJwt({ exp: '5' })}`)).toBe(Infinity);
    expect(bearerExpiry('Bearer sy_an-api-token')).toBe(Infinity);
    expect(bearerExpiry('Bearer a.!!!.c')).toBe(Infinity);
    expect(bearerExpiry('Basic dXNlcjpwYXNz')).toBe(Infinity);
    expect(bearerExpiry(null)).toBe(Infinity);
  });
});

/** A JWT's shape with the given claims (unsigned: the cache reads, it never verifies). */
function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) =>
    btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}
