import { json } from '@remix-run/node';

import { readJsonObject } from '~/edge/http';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '~/domain/input';

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
 * (malformed, not an object, or text PostgreSQL cannot store). The edge handlers' reader, which
 * uses Web APIs only, is the one implementation.
 */
export const readJsonBody: (request: Request, maxBytes: number) => Promise<Record<string, unknown>> = readJsonObject;

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
