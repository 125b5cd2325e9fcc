import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface SupabaseJwtConfig {
  supabaseUrl: string;
  /** HS256 projects; when absent the project's JWKS (asymmetric keys) is used. */
  jwtSecret?: string;
}

export interface SupabaseIdentity {
  userId: string;
  email: string | null;
}

const jwksByUrl = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

const CLOCK_TOLERANCE_SECONDS = 5;
/**
 * Tokens verified lately, by issuer, key source and token text: a learner's client sends the
 * same access token for up to an hour, and verifying its signature again each time was the
 * largest cost of an edge route after the database (bench:edge: tens of ms at p50 under load,
 * WebCrypto's HMAC going through libuv's thread pool). A hit still checks expiry against the
 * clock, and is re-verified after VERIFIED_TTL_MS, so a key the project withdraws from its JWKS
 * stops being honoured within a minute. The same bytes cannot verify differently.
 */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX_ENTRIES = 10_000;
const verified = new Map<string, { identity: SupabaseIdentity; expiresAt: number | null; until: number }>();

function rememberVerified(key: string, identity: SupabaseIdentity, exp: number | undefined) {
  if (verified.size >= VERIFIED_MAX_ENTRIES) verified.delete(verified.keys().next().value as string);
  verified.set(key, { identity, expiresAt: exp ?? null, until: Date.now() + VERIFIED_TTL_MS });
}

/**
 * Verifies a Supabase Auth access token: signature (HS256 secret or JWKS), expiry, issuer
 * (`<project>/auth/v1`) and audience (`authenticated`). Throws when any of them is wrong.
 */
export async function verifySupabaseAccessToken(token: string, config: SupabaseJwtConfig): Promise<SupabaseIdentity> {
  const issuer = `${config.supabaseUrl.replace(/\/$/, '')}/auth/v1`;
  const cacheKey = `${issuer}\n${config.jwtSecret ?? 'jwks'}\n${token}`;
  const hit = verified.get(cacheKey);
  if (hit) {
    const now = Date.now();
    // Expired (as jose judges it: exp at or before now minus the tolerance) or due a fresh
    // check: verify again, which also throws the right error.
    if (now < hit.until && (hit.expiresAt === null || hit.expiresAt > now / 1000 - CLOCK_TOLERANCE_SECONDS))
      return hit.identity;
    verified.delete(cacheKey);
  }
  const options = { issuer, audience: 'authenticated', clockTolerance: CLOCK_TOLERANCE_SECONDS };
  let payload: JWTPayload;
  if (config.jwtSecret) {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(config.jwtSecret), {
      ...options,
      algorithms: ['HS256'],
    }));
  } else {
    const jwksUrl = `${issuer}/.well-known/jwks.json`;
    let jwks = jwksByUrl.get(jwksUrl);
    if (!jwks) {
      jwks = createRemoteJWKSet(new URL(jwksUrl));
      jwksByUrl.set(jwksUrl, jwks);
    }
    ({ payload } = await jwtVerify(token, jwks, { ...options, algorithms: ['RS256', 'ES256'] }));
  }
  if (!payload.sub) throw new Error('The access token has no subject.');
  const identity = { userId: payload.sub, email: typeof payload.email === 'string' ? payload.email : null };
  rememberVerified(cacheKey, identity, payload.exp);
  return identity;
}
