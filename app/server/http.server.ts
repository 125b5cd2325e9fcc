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

/**
 * Reads a JSON object body, refusing what is not one with the status a client can act on:
 * 415 (not JSON), 413 (too large, checked while reading, not trusting Content-Length), 400
 * (malformed, or not an object).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw apiError(415, 'unsupported_media_type', 'Send the body as JSON with "Content-Type: application/json".');
  }
  const tooLarge = () => apiError(413, 'body_too_large', `The body is larger than ${maxBytes} bytes.`);
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw apiError(400, 'invalid_json', `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw apiError(400, 'invalid_body', 'The body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}
