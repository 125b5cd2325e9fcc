import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';

import { verifySupabaseAccessToken } from './supabase-jwt.server';

const SUPABASE_URL = 'https://project.supabase.test';
const SECRET = 'super-secret-jwt-token-with-at-least-32-characters';
const key = new TextEncoder().encode(SECRET);

function token(
  overrides: { audience?: string; issuer?: string; expiresIn?: string; secret?: Uint8Array; sub?: string } = {},
) {
  return new SignJWT({ email: 'cm@example.com', role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(overrides.sub ?? '6a1f1e2c-8f1d-4b8e-9d41-0f5c3b0a9e11')
    .setIssuer(overrides.issuer ?? `${SUPABASE_URL}/auth/v1`)
    .setAudience(overrides.audience ?? 'authenticated')
    .setIssuedAt()
    .setExpirationTime(overrides.expiresIn ?? '1h')
    .sign(overrides.secret ?? key);
}

describe('verifySupabaseAccessToken (HS256 project secret)', () => {
  const config = { supabaseUrl: SUPABASE_URL, jwtSecret: SECRET };

  it('accepts a valid token and returns the user id and email', async () => {
    expect(await verifySupabaseAccessToken(await token(), config)).toEqual({
      userId: '6a1f1e2c-8f1d-4b8e-9d41-0f5c3b0a9e11',
      email: 'cm@example.com',
    });
  });

  it('refuses a wrong signature', async () => {
    const forged = await token({ secret: new TextEncoder().encode('another-secret-of-at-least-32-characters!!') });
    await expect(verifySupabaseAccessToken(forged, config)).rejects.toThrow(/signature/);
  });

  it('refuses an expired token', async () => {
    await expect(verifySupabaseAccessToken(await token({ expiresIn: '-10m' }), config)).rejects.toThrow(/"exp"/);
  });

  it('refuses a token it accepted before once that token has expired (verified tokens are remembered)', async () => {
    const shortLived = await token({ expiresIn: '10s', sub: '0f3e1c7a-2b9d-4c1e-8a5f-6d7e8f9a0b1c' });
    expect((await verifySupabaseAccessToken(shortLived, config)).userId).toBe('0f3e1c7a-2b9d-4c1e-8a5f-6d7e8f9a0b1c');
    vi.useFakeTimers({ now: Date.now() + 20_000, toFake: ['Date'] });
    try {
      await expect(verifySupabaseAccessToken(shortLived, config)).rejects.toThrow(/"exp"/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not let a token verified under one secret pass under another', async () => {
    const valid = await token();
    await verifySupabaseAccessToken(valid, config);
    await expect(
      verifySupabaseAccessToken(valid, { ...config, jwtSecret: 'another-secret-of-at-least-32-characters!!' }),
    ).rejects.toThrow(/signature/);
  });

  it('refuses a wrong audience and a wrong issuer', async () => {
    await expect(verifySupabaseAccessToken(await token({ audience: 'anon' }), config)).rejects.toThrow(/"aud"/);
    await expect(
      verifySupabaseAccessToken(await token({ issuer: 'https://other.supabase.test/auth/v1' }), config),
    ).rejects.toThrow(/"iss"/);
  });
});

describe('verifySupabaseAccessToken (project JWKS)', () => {
  let server: http.Server;
  let baseUrl: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    // A stand-in for <project>/auth/v1/.well-known/jwks.json.
    server = http.createServer((request, response) => {
      if (request.url === '/auth/v1/.well-known/jwks.json') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ keys: [jwk] }));
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const signed = (signingKey: CryptoKey, audience = 'authenticated') =>
    new SignJWT({ email: 'ops@example.com' })
      .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
      .setSubject('0b6c9f0e-2a53-4f47-b1d0-6f7f7c9a2d10')
      .setIssuer(`${baseUrl}/auth/v1`)
      .setAudience(audience)
      .setExpirationTime('1h')
      .sign(signingKey);

  it('accepts a token signed by a key in the JWKS and refuses others', async () => {
    expect(await verifySupabaseAccessToken(await signed(privateKey), { supabaseUrl: baseUrl })).toMatchObject({
      email: 'ops@example.com',
    });
    const stranger = (await generateKeyPair('ES256')).privateKey as CryptoKey;
    await expect(verifySupabaseAccessToken(await signed(stranger), { supabaseUrl: baseUrl })).rejects.toThrow(
      /signature/,
    );
    await expect(verifySupabaseAccessToken(await signed(privateKey, 'anon'), { supabaseUrl: baseUrl })).rejects.toThrow(
      /"aud"/,
    );
  });
});
