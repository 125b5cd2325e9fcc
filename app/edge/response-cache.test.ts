import { CACHE_STATUS_HEADER, createResponseCache, parseSharedCacheControl } from './response-cache';

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
    expect(cache.fresh('http://app.test/thing', header('one'))).toBeNull();
    await cache.handle(get('one'), origin('s-maxage=10, stale-while-revalidate=20'));
    const hit = cache.fresh('http://app.test/thing', header('one'));
    expect([hit?.status, new TextDecoder().decode(hit?.body)]).toEqual([200, 'answer 1']);
    expect(new Headers(hit?.headers).get(CACHE_STATUS_HEADER)).toBe('HIT');
    expect(new Headers(hit?.headers).has('vercel-cache-tag')).toBe(false);
    expect(cache.fresh('http://app.test/thing', header('two'))).toBeNull();
    cache.invalidate(['a']);
    expect(cache.fresh('http://app.test/thing', header('one'))).toBeNull();
    await cache.handle(get('one'), origin('s-maxage=10'));
    await cache.settled();
    expect(cache.fresh('http://app.test/thing', header('one'))).not.toBeNull();
    clock = 10_000;
    expect(cache.fresh('http://app.test/thing', header('one'))).toBeNull();
  });
});
