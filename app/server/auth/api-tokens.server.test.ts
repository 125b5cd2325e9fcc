import { databaseTargets, type TestDatabase } from '../../../test/support/databases';
import { watchingQueries } from '../../../test/support/fixtures';
import { createStaff } from '../services/staff.server';
import {
  VERIFIED_TOKEN_TTL_MS,
  authenticateApiToken,
  createApiToken,
  revokeApiToken,
  verifyApiToken,
} from './api-tokens.server';
import type { Staff } from './staff.server';

/**
 * A token's last use is kept to the minute: the page still says when it was last used, but a
 * burst of requests with one token writes its row once instead of queueing on its lock.
 */
describe.each(databaseTargets())('API token last use on $name', (target) => {
  let test_: TestDatabase;
  let token: string;
  let tokenId: string;
  let actor: Staff;

  beforeEach(async () => {
    test_ = await target.create();
    const staffId = await createStaff(test_.db, 'system', {
      email: 'admin@example.com',
      displayName: 'Admin',
      role: 'admin',
    });
    actor = { id: staffId, email: 'admin@example.com', displayName: 'Admin', role: 'admin' };
    ({ token, id: tokenId } = await createApiToken(test_.db, actor, { name: 'CMS', scopes: ['submit', 'read'] }));
    // Counts every write of a token row, whoever makes it.
    await test_.db.query('create table public.test_token_writes (token_id uuid not null)');
    await test_.db.query(`create function public.test_count_token_write() returns trigger language plpgsql as $$
      begin insert into public.test_token_writes values (new.id); return new; end $$`);
    await test_.db.query(`create trigger test_count_token_write after update on public.api_tokens
      for each row execute function public.test_count_token_write()`);
  });
  afterEach(async () => {
    await test_.drop();
  });

  async function lastUsed(): Promise<Date | null> {
    const [row] = await test_.db.query<{ last_used_at: Date | null }>(
      'select last_used_at from public.api_tokens where id = $1',
      [tokenId],
    );
    return row.last_used_at;
  }
  async function writes(): Promise<number> {
    const [row] = await test_.db.query<{ n: number }>('select count(*)::int as n from public.test_token_writes');
    return row.n;
  }

  it('marks a never-used token used, and advances the mark once it is more than a minute old', async () => {
    expect(await lastUsed()).toBeNull();
    expect(await authenticateApiToken(test_.db, token)).toEqual({
      id: tokenId,
      name: 'CMS',
      scopes: ['submit', 'read'],
    });
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    expect(Math.abs(first!.getTime() - Date.now())).toBeLessThan(10_000);

    await test_.db.query(`update public.api_tokens set last_used_at = now() - interval '2 minutes' where id = $1`, [
      tokenId,
    ]);
    const before = await writes();
    await authenticateApiToken(test_.db, token);
    expect(await writes()).toBe(before + 1);
    const advanced = await lastUsed();
    expect(Math.abs(advanced!.getTime() - Date.now())).toBeLessThan(10_000);
  });

  it('does not write a mark that is less than a minute old', async () => {
    await test_.db.query(`update public.api_tokens set last_used_at = now() - interval '30 seconds' where id = $1`, [
      tokenId,
    ]);
    const mark = await lastUsed();
    const before = await writes();
    expect(await authenticateApiToken(test_.db, token)).toMatchObject({ id: tokenId });
    expect(await writes()).toBe(before);
    expect(await lastUsed()).toEqual(mark);
  });

  it('writes the row once for a burst of 40 concurrent requests, and every request is authenticated', async () => {
    await test_.db.query(`update public.api_tokens set last_used_at = now() - interval '5 minutes' where id = $1`, [
      tokenId,
    ]);
    const before = await writes();
    const results = await Promise.all(Array.from({ length: 40 }, () => authenticateApiToken(test_.db, token)));
    expect(results.every((result) => result?.id === tokenId)).toBe(true);
    expect(await writes()).toBe(before + 1);
    expect(Math.abs((await lastUsed())!.getTime() - Date.now())).toBeLessThan(10_000);
  });

  it('still refuses a revoked or unknown token without writing', async () => {
    await test_.db.query('update public.api_tokens set revoked_at = now() where id = $1', [tokenId]);
    const before = await writes();
    expect(await authenticateApiToken(test_.db, token)).toBeNull();
    expect(await authenticateApiToken(test_.db, `${token}x`)).toBeNull();
    expect(await writes()).toBe(before);
  });

  it('reads the tokens of concurrent requests together, and takes a verified one on trust for a moment', async () => {
    const reads: unknown[] = [];
    const watched = watchingQueries(test_.db, (sql, params) => {
      if (sql.includes('token_hash = any')) reads.push(params?.[0]);
    });
    const other = await createApiToken(test_.db, actor, { name: 'Script', scopes: ['read'] });
    const results = await Promise.all(
      [token, other.token, token, `${token}x`].map((bearer) => verifyApiToken(watched, bearer)),
    );
    expect(results.map((result) => result?.name ?? null)).toEqual(['CMS', 'Script', 'CMS', null]);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toHaveLength(3);
    expect(await verifyApiToken(watched, token)).toEqual({ id: tokenId, name: 'CMS', scopes: ['submit', 'read'] });
    expect(reads).toHaveLength(1);
    // An unknown token is never remembered: every attempt with it is read again.
    expect(await verifyApiToken(watched, `${token}x`)).toBeNull();
    expect(reads).toHaveLength(2);
  });

  it('refuses a token revoked by this process at once, and one revoked elsewhere once the moment is over', async () => {
    expect(await verifyApiToken(test_.db, token)).toMatchObject({ id: tokenId });
    expect(await revokeApiToken(test_.db, actor, tokenId)).toBe(true);
    expect(await verifyApiToken(test_.db, token)).toBeNull();

    const other = await createApiToken(test_.db, actor, { name: 'Script', scopes: ['read'] });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      expect(await verifyApiToken(test_.db, other.token)).toMatchObject({ id: other.id });
      // Revoked by another instance (or by hand): this process has not heard of it.
      await test_.db.query('update public.api_tokens set revoked_at = now() where id = $1', [other.id]);
      vi.advanceTimersByTime(VERIFIED_TOKEN_TTL_MS);
      expect(await verifyApiToken(test_.db, other.token)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});
