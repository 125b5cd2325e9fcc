import { json } from '@remix-run/node';

/**
 * The JSON error every API route answers with: a stable code for programs and a message for
 * people, plus per-field problems where input was wrong.
 */
export function apiError(status: number, code: string, message: string, fields?: Record<string, string[]>): Response {
  return json(
    { error: code, message, ...(fields ? { fields } : {}) },
    { status, headers: { 'Cache-Control': 'no-store' } },
  );
}

/** The caller's address as the platform reports it (Vercel and most proxies set X-Forwarded-For). */
export function clientAddress(request: Request): string {
  return request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() || request.headers.get('x-real-ip') || 'local';
}

/** A path to return to after sign-in: only same-site relative paths, never "//evil.example". */
export function safeRedirectPath(value: FormDataEntryValue | string | null | undefined, fallback = '/'): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\'))
    return fallback;
  return value;
}
