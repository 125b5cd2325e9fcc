import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';

import type { EntryContext, HandleDataRequestFunction, HandleErrorFunction } from '@remix-run/node';
import { createReadableStreamFromReadable } from '@remix-run/node';
import { isRouteErrorResponse, RemixServer } from '@remix-run/react';
import { isbot } from 'isbot';
import { renderToPipeableStream } from 'react-dom/server';

import { NonceContext } from './components/nonce';
import { createLogger } from './server/log.server';
import { securityHeaders } from './server/security-headers.server';

const ABORT_DELAY = 5_000;

/**
 * Renders documents with a fresh CSP nonce: the only inline scripts that run are Remix's own,
 * which carry it. Bots get the whole document at once; browsers get it streamed.
 */
export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
) {
  const nonce = randomBytes(16).toString('base64');
  for (const [name, value] of Object.entries(securityHeaders(nonce))) responseHeaders.set(name, value);
  const waitForAll = isbot(request.headers.get('user-agent') ?? '') || remixContext.isSpaMode;

  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const { pipe, abort } = renderToPipeableStream(
      <NonceContext.Provider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
      </NonceContext.Provider>,
      {
        nonce,
        [waitForAll ? 'onAllReady' : 'onShellReady']() {
          shellRendered = true;
          const body = new PassThrough();
          responseHeaders.set('Content-Type', 'text/html');
          resolve(
            new Response(createReadableStreamFromReadable(body), {
              headers: responseHeaders,
              status: responseStatusCode,
            }),
          );
          pipe(body);
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          if (shellRendered) console.error(error);
        },
      },
    );
    setTimeout(abort, ABORT_DELAY);
  });
}

/**
 * Loader and action data carry the same non-CSP headers. Remix calls this for `?_data`
 * requests only, not for resource routes (the API, /healthz, CSV): server.ts sets these headers
 * on every response it sends, and vercel.json on Vercel.
 */
export const handleDataRequest: HandleDataRequestFunction = (response) => {
  for (const [name, value] of Object.entries(securityHeaders(null))) {
    if (!response.headers.has(name)) response.headers.set(name, value);
  }
  return response;
};

const log = createLogger({ component: 'app' });

/**
 * A URL nothing answers (a probe, a stale bookmark) is not a fault: one line, no stack. Other
 * errors keep Remix's default of logging the error itself with its stack.
 */
export const handleError: HandleErrorFunction = (error, { request }) => {
  if (request.signal.aborted) return;
  if (isRouteErrorResponse(error) && error.status === 404) {
    log.info('not found', { method: request.method, path: new URL(request.url).pathname });
    return;
  }
  // `error.error` is the Error behind an internal error response (Remix logs it the same way).
  const inner = isRouteErrorResponse(error) ? (error as { error?: unknown }).error : undefined;
  console.error(inner ?? error);
};
