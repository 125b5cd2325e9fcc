import { json } from '@remix-run/node';

import { findUnstorableText, isStorableText, UNSTORABLE_TEXT_MESSAGE } from '~/domain/input';

/**
 * The JSON error every API route answers with, `{error: {code, message, fields?}}`: a stable
 * code for programs and a message for people, plus per-field problems where input was wrong.
 */
export function apiError(
  status: number,
  code: string,
  message: string,
  fields?: Record<string, string[]>,
  headers: Record<string, string> = {},
): Response {
  return json(
    { error: { code, message, ...(fields ? { fields } : {}) } },
    { status, headers: { 'Cache-Control': 'no-store', ...headers } },
  );
}

/** The caller's address as the platform reports it (Vercel and most proxies set X-Forwarded-For). */
export function clientAddress(request: Request): string {
  return request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() || request.headers.get('x-real-ip') || 'local';
}

/**
 * A path to return to after sign-in: only same-site relative paths, never "//evil.example",
 * and only printable ASCII (a Location header cannot carry more; "/jobs😀" was a 500).
 */
export function safeRedirectPath(value: FormDataEntryValue | string | null | undefined, fallback = '/'): string {
  if (
    typeof value !== 'string' ||
    !value.startsWith('/') ||
    value.startsWith('//') ||
    value.startsWith('/\\') ||
    !/^[\x21-\x7e]*$/.test(value)
  )
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
        // Not cancelled: cancelling destroys the socket under a client still sending, which
        // then may never read this 413. The server reads the rest after answering (server.ts).
        reader.releaseLock();
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
  const unstorable = findUnstorableText(parsed);
  if (unstorable !== null) throw unstorableField(unstorable);
  return parsed as Record<string, unknown>;
}

/** The API's answer to text PostgreSQL cannot store (see ~/domain/input). */
export function unstorableField(field: string): Response {
  return apiError(400, 'invalid_request', `"${field}" ${UNSTORABLE_TEXT_MESSAGE}.`, {
    [field]: [UNSTORABLE_TEXT_MESSAGE],
  });
}

/** A request header's value for an API route, refused with a 400 naming it when unstorable. */
export function readApiHeader(request: Request, name: string): string | null {
  const value = request.headers.get(name);
  if (value !== null && !isStorableText(value)) throw unstorableField(name);
  return value;
}

/** A page's 400: shown by the error boundary, naming what to fix. */
function badPageInput(message: string): Response {
  return new Response(message, { status: 400, statusText: 'Bad Request' });
}

function assertStorablePageField(name: string, value: string, where: 'form field' | 'URL parameter'): void {
  if (!isStorableText(name) || !isStorableText(value)) {
    throw badPageInput(
      `The ${where} "${isStorableText(name) ? name : '(unreadable name)'}" contains a NUL character or an unpaired ` +
        'UTF-16 surrogate, which cannot be stored. Remove it and try again.',
    );
  }
}

/**
 * A page action's form, every field (and file name) checked against the text rule; a body
 * that is not a form is a 400, not a 500. Use this instead of `request.formData()`.
 */
export async function readForm(request: Request): Promise<FormData> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    throw badPageInput(
      'The form could not be read: send it as application/x-www-form-urlencoded or multipart/form-data.',
    );
  }
  for (const [name, value] of form)
    assertStorablePageField(name, typeof value === 'string' ? value : value.name, 'form field');
  return form;
}

/** A page loader's query string, every parameter checked against the text rule. */
export function readSearchParams(request: Request): URLSearchParams {
  const params = new URL(request.url).searchParams;
  for (const [name, value] of params) assertStorablePageField(name, value, 'URL parameter');
  return params;
}

/** A page's 400 naming the fields a zod schema refused in its URL parameters. */
export function badSearchParams(fields: Record<string, string[]>): Response {
  const problems = Object.entries(fields).map(([name, messages]) => `"${name}" ${messages.join('; ')}`);
  return badPageInput(`This page's address has a wrong parameter: ${problems.join(', ')}. Fix or remove it.`);
}
