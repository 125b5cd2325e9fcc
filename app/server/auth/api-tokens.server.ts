import type { TokenScope } from '~/domain/permissions';

import { audit } from '../audit.server';
import { batchedLookup } from '../batched-lookup.server';
import type { Database, Queryable } from '../db/port.server';
import type { Staff } from './staff.server';
import { hashToken, newSecretToken } from './tokens.server';

export interface ApiTokenSummary {
  id: string;
  name: string;
  tokenPrefix: string;
  scopes: TokenScope[];
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const TOKEN_PREFIX = 'sy_';

/** Creates a token and returns it in full: the only time it is ever visible. */
export async function createApiToken(
  db: Database,
  actor: Staff,
  input: { name: string; scopes: TokenScope[] },
): Promise<{ id: string; token: string }> {
  const { token, hash } = newSecretToken(TOKEN_PREFIX);
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ id: string }>(
      `insert into public.api_tokens (name, token_hash, token_prefix, scopes, created_by)
       values ($1, $2, $3, $4, $5) returning id`,
      [input.name, hash, token.slice(0, TOKEN_PREFIX.length + 6), input.scopes, actor.id],
    );
    await audit(tx, {
      actor: actor.email,
      action: 'api_token.create',
      targetType: 'api_token',
      targetId: row.id,
      detail: { name: input.name, scopes: input.scopes },
    });
    return { id: row.id, token };
  });
}

export async function revokeApiToken(db: Database, actor: Staff, id: string): Promise<boolean> {
  const revoked = await db.transaction(async (tx) => {
    const rows = await tx.query(
      'update public.api_tokens set revoked_at = now(), revoked_by = $2 where id = $1 and revoked_at is null returning id',
      [id, actor.id],
    );
    if (rows.length > 0)
      await audit(tx, { actor: actor.email, action: 'api_token.revoke', targetType: 'api_token', targetId: id });
    return rows.length > 0;
  });
  // Every request from here on reads its token again: a token revoked here is refused at once.
  forgetVerifiedTokens(db);
  return revoked;
}

export async function listApiTokens(db: Queryable): Promise<ApiTokenSummary[]> {
  const rows = await db.query<{
    id: string;
    name: string;
    token_prefix: string;
    scopes: TokenScope[];
    created_by: string;
    created_at: Date;
    last_used_at: Date | null;
    revoked_at: Date | null;
  }>(
    `select t.id, t.name, t.token_prefix, t.scopes, s.email as created_by, t.created_at, t.last_used_at, t.revoked_at
     from public.api_tokens t join public.staff s on s.id = t.created_by
     order by t.revoked_at is not null, t.created_at desc`,
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    tokenPrefix: row.token_prefix,
    scopes: row.scopes,
    createdBy: row.created_by,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  }));
}

/** What a live token may do, as authentication returns it. */
export interface VerifiedApiToken {
  id: string;
  name: string;
  scopes: TokenScope[];
}

/**
 * The live token behind a bearer value, marking it used; null when unknown or revoked.
 *
 * `last_used_at` is kept to the minute, as sessions' `last_seen_at` is: writing it on every
 * request made 50 concurrent callers of one token queue on its row lock (issue 18). A stale
 * mark is refreshed by whichever request locks the row first; the others skip the locked row
 * rather than wait for it, so a burst writes the row once and never serialises on it.
 */
export async function authenticateApiToken(db: Queryable, token: string): Promise<VerifiedApiToken | null> {
  const hash = hashToken(token);
  return (await authenticateApiTokenHashes(db, [hash])).get(hash) ?? null;
}

/** `authenticateApiToken` for many stored hashes at once: one read, and one write for the stale marks. */
async function authenticateApiTokenHashes(db: Queryable, hashes: string[]): Promise<Map<string, VerifiedApiToken>> {
  const rows = await db.query<{ id: string; name: string; scopes: TokenScope[]; token_hash: string; stale: boolean }>(
    `select id, name, scopes, token_hash, coalesce(last_used_at < now() - interval '1 minute', true) as stale
     from public.api_tokens
     where token_hash = any($1) and revoked_at is null`,
    [hashes],
  );
  const stale = rows.filter((row) => row.stale).map((row) => row.id);
  if (stale.length > 0)
    await db.query(
      `update public.api_tokens set last_used_at = now()
       where id in (select id from public.api_tokens
                    where id = any($1) and (last_used_at is null or last_used_at < now() - interval '1 minute')
                    for no key update skip locked)`,
      [stale],
    );
  return new Map(rows.map((row) => [row.token_hash, { id: row.id, name: row.name, scopes: row.scopes }]));
}

/**
 * How long a verified token is taken on trust by this process. A revocation made here is
 * obeyed at once (`revokeApiToken` forgets every verified token); one made by another process
 * (another Vercel instance, SQL by hand) within this long. Unknown and revoked tokens are never
 * remembered: each attempt with one is read again.
 */
export const VERIFIED_TOKEN_TTL_MS = 1000;

interface VerifiedTokens {
  byHash: Map<string, { token: VerifiedApiToken; at: number }>;
  /** Advanced by every revocation: a read that started before one must not be remembered. */
  generation: number;
}
const verifiedTokens = new WeakMap<Database, VerifiedTokens>();
const lookUpTokenHash = batchedLookup(authenticateApiTokenHashes);

/**
 * `authenticateApiToken` for the API routes (issue 18, ADR 0024): a token verified within
 * `VERIFIED_TOKEN_TTL_MS` is not read again, and the reads of concurrent requests go together
 * (`batchedLookup`: one `token_hash = any(…)` read for every token waiting), so 50 concurrent
 * callers of one token cost one read a second instead of 50 pool checkouts each.
 */
export async function verifyApiToken(db: Database, token: string): Promise<VerifiedApiToken | null> {
  let verified = verifiedTokens.get(db);
  if (!verified) {
    verified = { byHash: new Map(), generation: 0 };
    verifiedTokens.set(db, verified);
  }
  const hash = hashToken(token);
  const hit = verified.byHash.get(hash);
  const startedAt = Date.now();
  if (hit && startedAt - hit.at < VERIFIED_TOKEN_TTL_MS) return hit.token;
  const generation = verified.generation;
  const found = await lookUpTokenHash(db, hash);
  if (!found) {
    verified.byHash.delete(hash);
    return null;
  }
  if (verified.generation === generation) {
    if (verified.byHash.size >= 1000)
      for (const [key, entry] of verified.byHash)
        if (startedAt - entry.at >= VERIFIED_TOKEN_TTL_MS) verified.byHash.delete(key);
    verified.byHash.set(hash, { token: found, at: startedAt });
  }
  return found;
}

function forgetVerifiedTokens(db: Database): void {
  const verified = verifiedTokens.get(db);
  if (!verified) return;
  verified.byHash.clear();
  verified.generation += 1;
}
