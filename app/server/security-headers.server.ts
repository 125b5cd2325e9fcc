import type { ServerResponse } from 'node:http';

import { getEnv } from './env.server';

/** HSTS: browsers use https for this host (and its subdomains) for a year after seeing it. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/**
 * Headers on every response. In production they include Strict-Transport-Security; not in
 * development, where the app is http://localhost and HSTS would stick to localhost in the
 * browser for a year. With a nonce (documents) the Content-Security-Policy allows only
 * our own scripts plus Remix's inline ones carrying the nonce; styles may be inline because
 * server-rendered style attributes (progress bars, charts) need it, which cannot run code.
 */
export function securityHeaders(nonce: string | null): Record<string, string> {
  const headers: Record<string, string> = {
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'strict-origin-when-cross-origin',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
  if (getEnv().NODE_ENV === 'production') headers['Strict-Transport-Security'] = STRICT_TRANSPORT_SECURITY;
  if (nonce !== null) {
    const supabase = getEnv().SUPABASE_URL;
    const connect = ["'self'", ...(supabase ? [supabase, supabase.replace(/^http/, 'ws')] : [])];
    headers['Content-Security-Policy'] = [
      "default-src 'self'",
      `script-src 'self' 'nonce-${nonce}'`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      `connect-src ${connect.join(' ')}`,
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "object-src 'none'",
    ].join('; ');
  }
  return headers;
}

/**
 * Adds `headers` to `res` as its head goes out, each only where the response set none (Remix
 * sets its own on documents and data, which would otherwise repeat): how the Node server gives
 * every response the security headers, static files and API answers included.
 */
export function addMissingHeadersOnWriteHead(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  const entries = Object.entries(headers);
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    for (const [name, value] of entries) if (!this.hasHeader(name)) this.setHeader(name, value);
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}
