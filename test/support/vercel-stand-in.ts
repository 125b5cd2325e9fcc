import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the two Vercel endpoints Switchyard uses, in their wire formats:
 * the REST API's `PATCH /v1/edge-config/{id}/items` (writes) and the Edge Config read endpoint
 * the @vercel/edge-config SDK calls (`GET {base}/item/{key}?version=1`, `HEAD`, `/items`, `/digest`),
 * and the CDN's `POST /v1/edge-cache/invalidate-by-tags?projectIdOrName=…` (`{tags, target}`).
 *
 * Like the real service, a write is acknowledged before every region serves it: `lagReads(ms)`
 * makes reads serve the previous value for that long after each write (Edge Config takes up to
 * about 10 s), `lagReads(null)` makes written values never reach the read path, and
 * `slowWrites(ms)` holds each PATCH that long before answering (to catch overlapping writes).
 */
export async function startVercelStandIn() {
  const id = 'ecfg_switchyardtest';
  const readToken = 'read-token-for-tests';
  const apiToken = 'vercel-api-token-for-tests';
  /** What was written (acknowledged), and what the read path serves. */
  const items = new Map<string, unknown>();
  const readable = new Map<string, unknown>();
  let readLagMs: number | null = 0;
  let writeDelayMs = 0;
  let writesInFlight = 0;
  let maxWritesInFlight = 0;
  const patchWaiters: (() => void)[] = [];
  const patches: { body: unknown; authorization: string | undefined; teamId: string | null }[] = [];
  let writeFailure: { status: number; message: string } | null = null;
  let readsDown = false;
  let digest = 1;
  /** Every invalidate-by-tags call received (also those answered with an error). */
  const invalidations: {
    tags: string[] | string;
    target: string | null;
    projectIdOrName: string | null;
    teamId: string | null;
  }[] = [];
  let invalidationFailures = 0;

  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://vercel');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body === undefined ? undefined : JSON.stringify(body));
    };

    if (request.method === 'PATCH' && url.pathname === `/v1/edge-config/${id}/items`) {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        items: { operation: string; key: string; value: unknown }[];
      };
      patches.push({ body, authorization: request.headers.authorization, teamId: url.searchParams.get('teamId') });
      patchWaiters.splice(0).forEach((wake) => wake());
      writesInFlight += 1;
      maxWritesInFlight = Math.max(maxWritesInFlight, writesInFlight);
      await new Promise((resolve) => setTimeout(resolve, writeDelayMs));
      writesInFlight -= 1;
      if (request.headers.authorization !== `Bearer ${apiToken}`)
        return send(403, { error: { code: 'forbidden', message: 'Not authorized' } });
      if (writeFailure) return send(writeFailure.status, { error: { code: 'error', message: writeFailure.message } });
      for (const item of body.items) {
        if (!/^[\w-]+$/.test(item.key))
          return send(400, { error: { code: 'bad_request', message: `Invalid key ${item.key}` } });
      }
      const apply = (target: Map<string, unknown>) => {
        for (const item of body.items) {
          if (item.operation === 'upsert' || item.operation === 'create' || item.operation === 'update')
            target.set(item.key, item.value);
          if (item.operation === 'delete') target.delete(item.key);
        }
      };
      apply(items);
      const propagate = () => {
        apply(readable);
        digest += 1;
      };
      if (readLagMs === 0) propagate();
      else if (readLagMs !== null) setTimeout(propagate, readLagMs);
      return send(200, { status: 'ok' });
    }

    if (request.method === 'POST' && url.pathname === '/v1/edge-cache/invalidate-by-tags') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tags: string[] | string; target?: string };
      invalidations.push({
        tags: body.tags,
        target: body.target ?? null,
        projectIdOrName: url.searchParams.get('projectIdOrName'),
        teamId: url.searchParams.get('teamId'),
      });
      if (request.headers.authorization !== `Bearer ${apiToken}`)
        return send(403, { error: { code: 'forbidden', message: 'Not authorized' } });
      if (!url.searchParams.get('projectIdOrName'))
        return send(400, { error: { code: 'bad_request', message: 'projectIdOrName is required' } });
      if (invalidationFailures > 0) {
        invalidationFailures -= 1;
        return send(500, { error: { code: 'internal_server_error', message: 'try again' } });
      }
      return send(200, {});
    }

    if (url.pathname.startsWith(`/${id}/`)) {
      if (readsDown) return send(503, { error: { code: 'unavailable', message: 'Edge Config is down' } });
      if (request.headers.authorization !== `Bearer ${readToken}`)
        return send(401, { error: { code: 'unauthorized', message: 'Unauthorized' } });
      const rest = url.pathname.slice(id.length + 2);
      const digestHeader = { 'x-edge-config-digest': String(digest) };
      if (rest.startsWith('item/')) {
        const key = decodeURIComponent(rest.slice('item/'.length));
        if (!readable.has(key)) return send(404, undefined, digestHeader);
        return request.method === 'HEAD'
          ? send(200, undefined, digestHeader)
          : send(200, readable.get(key), digestHeader);
      }
      if (rest === 'items') {
        const keys = url.searchParams.getAll('key');
        const entries = [...readable].filter(([key]) => keys.length === 0 || keys.includes(key));
        return send(200, Object.fromEntries(entries), digestHeader);
      }
      if (rest === 'digest') return send(200, String(digest));
    }
    send(404, { error: { code: 'not_found', message: 'Not found' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: base,
    apiToken,
    connectionString: `${base}/${id}?token=${readToken}`,
    items,
    patches,
    /** Back to a fresh Edge Config: no items, no recorded patches, no failures, no lag. */
    reset() {
      items.clear();
      readable.clear();
      patches.length = 0;
      writeFailure = null;
      readsDown = false;
      readLagMs = 0;
      writeDelayMs = 0;
      maxWritesInFlight = 0;
      invalidations.length = 0;
      invalidationFailures = 0;
    },
    lagReads: (ms: number | null) => void (readLagMs = ms),
    slowWrites: (ms: number) => void (writeDelayMs = ms),
    /** The most PATCH requests that were being answered at one time. */
    maxWritesInFlight: () => maxWritesInFlight,
    /** Resolves when the next PATCH arrives (before it is answered). */
    nextPatch: () => new Promise<void>((resolve) => patchWaiters.push(resolve)),
    failWrites: (failure: { status: number; message: string } | null) => void (writeFailure = failure),
    setReadsDown: (down: boolean) => void (readsDown = down),
    invalidations,
    /** The next `count` invalidate-by-tags calls answer 500. */
    failInvalidations: (count: number) => void (invalidationFailures = count),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type VercelStandIn = Awaited<ReturnType<typeof startVercelStandIn>>;
