import { timingSafeEqual } from 'node:crypto';

import { OAuth2Client } from 'google-auth-library';

export interface WakeAuthOptions {
  /** Local: a shared secret sent as `Authorization: Bearer <secret>`. */
  sharedSecret?: string;
  /** Production: Google-signed OIDC ID tokens, as Cloud Run invokers send them. */
  oidc?: {
    /** The worker's own URL: the audience the app requested the token for. */
    audience: string;
    /** Service accounts allowed to wake the worker (the app's). */
    allowedEmails: string[];
    /** Where Google's signing certificates are fetched (tests point it at a stand-in). */
    certsUrl?: string;
  };
}

export type WakeAuthResult = { ok: true; caller: string } | { ok: false; reason: string };

/**
 * Decides whether a wake-up request may run. An ID token is verified with google-auth-library
 * (signature against Google's certificates, issuer, audience, expiry), then its email must be a
 * verified one on the allowlist. Without any configured method every request is refused.
 */
export function createWakeAuthenticator(options: WakeAuthOptions) {
  const client = options.oidc
    ? new OAuth2Client(
        options.oidc.certsUrl ? { endpoints: { oauth2FederatedSignonPemCertsUrl: options.oidc.certsUrl } } : {},
      )
    : undefined;
  const allowed = new Set(options.oidc?.allowedEmails.map((email) => email.toLowerCase()) ?? []);

  return async function authenticate(authorization: string | undefined): Promise<WakeAuthResult> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!bearer) return { ok: false, reason: 'missing bearer credentials' };
    if (options.sharedSecret && constantTimeEquals(bearer, options.sharedSecret))
      return { ok: true, caller: 'shared-secret' };
    if (client && options.oidc) {
      try {
        const ticket = await client.verifyIdToken({ idToken: bearer, audience: options.oidc.audience });
        const payload = ticket.getPayload();
        const email = payload?.email?.toLowerCase();
        if (!email || !payload?.email_verified) return { ok: false, reason: 'the ID token carries no verified email' };
        if (!allowed.has(email)) return { ok: false, reason: `${email} may not wake this worker` };
        return { ok: true, caller: email };
      } catch (error) {
        return { ok: false, reason: `invalid ID token: ${(error as Error).message}` };
      }
    }
    return { ok: false, reason: 'invalid credentials' };
  };
}

function constantTimeEquals(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
