import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { importPKCS8, SignJWT } from 'jose';

export const SERVICE_ACCOUNT = 'switchyard-app@project.iam.gserviceaccount.com';

/**
 * A local stand-in for the two Google endpoints the wake-up path uses, speaking their wire
 * formats: the metadata server's identity endpoint (what google-auth-library asks for an ID
 * token on Google Cloud) and the federated sign-on certificates (what it verifies them with).
 */
export async function startGoogleStandIn(options: { email?: string } = {}) {
  const keys = [newKey(), newKey()];
  const [signingKey] = keys;
  const identityRequests: { audience: string | null; flavor: string | undefined }[] = [];

  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://metadata');
    if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/identity') {
      const flavor = request.headers['metadata-flavor'] as string | undefined;
      identityRequests.push({ audience: url.searchParams.get('audience'), flavor });
      if (flavor !== 'Google') {
        response.writeHead(403).end('Missing Metadata-Flavor:Google header.');
        return;
      }
      const token = await signIdToken(signingKey, {
        audience: url.searchParams.get('audience') ?? '',
        email: options.email ?? SERVICE_ACCOUNT,
      });
      response.writeHead(200, { 'content-type': 'application/text', 'metadata-flavor': 'Google' });
      response.end(token);
    } else if (url.pathname === '/oauth2/v1/certs') {
      // Only the first key is published: tokens signed with the second must be refused.
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=60' });
      response.end(JSON.stringify({ [signingKey.kid]: signingKey.publicPem }));
    } else if (url.pathname === '/' || url.pathname === '/computeMetadata/v1/') {
      response.writeHead(200, { 'metadata-flavor': 'Google' }).end();
    } else {
      response.writeHead(404, { 'metadata-flavor': 'Google' }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    host,
    certsUrl: `http://${host}/oauth2/v1/certs`,
    identityRequests,
    /** An ID token as Google would sign it, or with the unpublished key, or already expired. */
    idToken: (claims: {
      audience: string;
      email?: string;
      unpublishedKey?: boolean;
      expired?: boolean;
      emailVerified?: boolean;
    }) =>
      signIdToken(claims.unpublishedKey ? keys[1] : signingKey, { ...claims, email: claims.email ?? SERVICE_ACCOUNT }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function newKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid: randomUUID().replaceAll('-', ''),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

async function signIdToken(
  key: ReturnType<typeof newKey>,
  claims: { audience: string; email: string; expired?: boolean; emailVerified?: boolean },
) {
  const now = Math.floor(Date.now() / 1000);
  const issuedAt = claims.expired ? now - 7200 : now;
  return new SignJWT({ email: claims.email, email_verified: claims.emailVerified ?? true, azp: '1234567890' })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer('https://accounts.google.com')
    .setAudience(claims.audience)
    .setSubject('1234567890')
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + 3600)
    .sign(await importPKCS8(key.privatePem, 'RS256'));
}
