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

/**
 * Verifies a Supabase Auth access token: signature (HS256 secret or JWKS), expiry, issuer
 * (`<project>/auth/v1`) and audience (`authenticated`). Throws when any of them is wrong.
 */
export async function verifySupabaseAccessToken(token: string, config: SupabaseJwtConfig): Promise<SupabaseIdentity> {
  const issuer = `${config.supabaseUrl.replace(/\/$/, '')}/auth/v1`;
  const options = { issuer, audience: 'authenticated', clockTolerance: 5 };
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
  return { userId: payload.sub, email: typeof payload.email === 'string' ? payload.email : null };
}
