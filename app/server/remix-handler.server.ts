import {
  createReadableStreamFromReadable,
  createRequestHandler,
  writeReadableStreamToWritable,
  type ServerBuild,
} from '@remix-run/node';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';

/**
 * A small body is read whole before Remix sees the request, and handed over as one buffer
 * rather than a web stream pumped from the socket.
 */
export const WHOLE_BODY_MAX_BYTES = 64 * 1024;

/**
 * `npm start`'s bridge from Express to Remix: what `@remix-run/express`'s `createRequestHandler`
 * does (every request still goes through Remix's own handler, as on Vercel, whose adapter is its
 * own), with two costs cut that a CPU profile of bench:submit showed (issue 18, ADR 0024): a
 * small request body is read into one buffer instead of being wrapped in a web stream, and a
 * JSON response is written with one `end()` and a Content-Length instead of being pumped chunk
 * by chunk from its stream and closed with an empty chunk. HTML documents and server-sent events
 * still stream as they did.
 */
export function remixRequestHandler(build: ServerBuild) {
  const handle = createRequestHandler(build, build.mode);
  return async (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => {
    try {
      const response = await handle(await toFetchRequest(req, res));
      await sendResponse(res, response);
    } catch (error) {
      next(error);
    }
  };
}

/** The host the client asked for, with the port of X-Forwarded-Host or Host, as the Express adapter has it. */
function requestHost(req: ExpressRequest): string {
  const portOf = (value: string | undefined) => Number.parseInt(value?.split(':')[1] ?? '', 10);
  const forwardedPort = portOf(req.get('X-Forwarded-Host'));
  const hostPort = portOf(req.get('host'));
  const port = Number.isSafeInteger(forwardedPort) ? forwardedPort : Number.isSafeInteger(hostPort) ? hostPort : '';
  // req.hostname respects the "trust proxy" setting.
  return `${req.hostname}${port ? `:${port}` : ''}`;
}

/** The web `Request` for an Express request, aborted when the response closes before it finished. */
export async function toFetchRequest(req: ExpressRequest, res: ExpressResponse): Promise<Request> {
  const init: RequestInit & { duplex?: 'half' } = {
    method: req.method,
    headers: requestHeaders(req),
    signal: abortedWhenClosedEarly(res),
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const length = Number(req.headers['content-length']);
    if (req.headers['transfer-encoding'] === undefined && length <= WHOLE_BODY_MAX_BYTES)
      init.body = await readWholeBody(req);
    else {
      init.body = createReadableStreamFromReadable(req);
      init.duplex = 'half';
    }
  }
  return new Request(`${req.protocol}://${requestHost(req)}${req.originalUrl}`, init);
}

/**
 * A request's signal: aborted when its response closes before it finished (the client went
 * away), so loaders and actions stop work nobody will read.
 */
export function abortedWhenClosedEarly(res: ServerResponse): AbortSignal {
  let controller: AbortController | null = new AbortController();
  const { signal } = controller;
  res.once('finish', () => (controller = null));
  res.once('close', () => controller?.abort());
  return signal;
}

/**
 * A `node:http` request's headers as a web `Request` gets them: as Node parsed them, so a header
 * sent twice reads as Node (and the cross-site guard) reads it.
 */
export function requestHeaders(req: IncomingMessage): [string, string][] {
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.push([name, item]);
    else if (value) headers.push([name, value]);
  }
  return headers;
}

export function readWholeBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      const whole = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      resolve(new Uint8Array(whole.buffer as ArrayBuffer, whole.byteOffset, whole.byteLength));
    });
    req.once('error', reject);
  });
}

/** Writes a web `Response` to Node's: JSON in one `end()`, HTML and event streams as they come. */
export async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusMessage = response.statusText;
  res.statusCode = response.status;
  for (const [name, value] of response.headers.entries()) res.appendHeader(name, value);
  const contentType = response.headers.get('content-type') ?? '';
  if (/text\/event-stream/i.test(contentType)) res.flushHeaders();
  if (!response.body) res.end();
  else if (/^application\/json/i.test(contentType)) res.end(Buffer.from(await response.arrayBuffer()));
  else await writeReadableStreamToWritable(response.body, res);
}
