/**
 * Request and answer helpers that use Web APIs only (no Node built-ins), so that the edge
 * handlers run on Vercel's edge runtime as well as on Node. `app/server/http.server.ts` reads
 * every other API body through the same `readJsonObject`.
 */
import { findUnstorableText, UNSTORABLE_TEXT_MESSAGE } from '~/domain/input';

/** The API's one error shape, `{error: {code, message, fields?}}`, never cached. */
export function edgeApiError(
  status: number,
  code: string,
  message: string,
  fields?: Record<string, string[]>,
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    { error: { code, message, ...(fields ? { fields } : {}) } },
    { status, headers: { 'Cache-Control': 'no-store', ...headers } },
  );
}

/**
 * A JSON object body, refused with the status a client can act on: 415 (not JSON), 413 (too
 * large, counted while reading, not trusting Content-Length), 400 (malformed, not an object,
 * or text PostgreSQL cannot store). Throws the answer.
 */
export async function readJsonObject(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw edgeApiError(415, 'unsupported_media_type', 'Send the body as JSON with "Content-Type: application/json".');
  }
  const tooLarge = () => edgeApiError(413, 'body_too_large', `The body is larger than ${maxBytes} bytes.`);
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) throw tooLarge();
  const decoder = new TextDecoder('utf-8');
  let text = '';
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
      text += decoder.decode(value, { stream: true });
    }
  }
  text += decoder.decode();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw edgeApiError(400, 'invalid_json', `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw edgeApiError(400, 'invalid_body', 'The body must be a JSON object.');
  }
  const unstorable = findUnstorableText(parsed);
  if (unstorable !== null) {
    throw edgeApiError(400, 'invalid_request', `"${unstorable}" ${UNSTORABLE_TEXT_MESSAGE}.`, {
      [unstorable]: [UNSTORABLE_TEXT_MESSAGE],
    });
  }
  return parsed as Record<string, unknown>;
}
