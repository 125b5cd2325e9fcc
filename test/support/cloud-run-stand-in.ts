import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Cloud Run Admin API v2, in the REST wire format that
 * `@google-cloud/run`'s fallback (HTTP/1.1 + JSON) client speaks:
 *
 * - `GET  /v2/projects/{p}/locations/{l}/services/{s}` → a Service;
 * - `GET  /v2/projects/{p}/locations/{l}/services/{s}/revisions` → `{ revisions }`;
 * - `PATCH /v2/projects/{p}/locations/{l}/services/{s}?updateMask=…` → an Operation `{ name, done: false }`;
 * - `GET  /v2/projects/{p}/locations/{l}/operations/{id}` → still running on the first poll, then
 *   `{ done: true, response: { '@type': '…Service', … } }` or `{ done: true, error: { code, message } }`.
 *
 * State is kept in proto3 JSON with enum names; enums go out as integers when the request asks
 * for `$alt=json;enum-encoding=int` (the client does so for service calls, not for operation
 * polls). A PATCH whose `etag` is not the current one is refused with 409 ABORTED, as Cloud Run
 * does; the change is applied only when its operation completes.
 */

export const PROJECT = 'switchyard-test';
export const REGION = 'europe-west1';
export const SERVICE = 'switchyard-worker';
export const SERVICE_NAME = `projects/${PROJECT}/locations/${REGION}/services/${SERVICE}`;
const OPERATIONS = `projects/${PROJECT}/locations/${REGION}/operations`;
/** Who Cloud Run says made a change; the stand-in answers as the app's service account. */
export const MODIFIER = 'switchyard-app@switchyard-test.iam.gserviceaccount.com';
const SERVICE_TYPE = 'type.googleapis.com/google.cloud.run.v2.Service';

type Json = Record<string, any>;

/** Integer values of the enums that appear in a Service or Revision (google/cloud/run/v2/*.proto). */
const ENUMS: Record<string, Record<string, number>> = {
  type: {
    TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED: 0,
    TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST: 1,
    TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION: 2,
  },
  state: {
    STATE_UNSPECIFIED: 0,
    CONDITION_PENDING: 1,
    CONDITION_RECONCILING: 2,
    CONDITION_FAILED: 3,
    CONDITION_SUCCEEDED: 4,
  },
  severity: { SEVERITY_UNSPECIFIED: 0, ERROR: 1, WARNING: 2, INFO: 3 },
  scalingMode: { SCALING_MODE_UNSPECIFIED: 0, AUTOMATIC: 1, MANUAL: 2 },
};

/** Rewrites enum fields (by field name) between names and integers, recursively. */
function mapEnums(value: unknown, to: 'int' | 'name'): unknown {
  if (Array.isArray(value)) return value.map((item) => mapEnums(item, to));
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => {
      const values = ENUMS[key];
      if (values && typeof field === 'string' && to === 'int' && field in values) return [key, values[field]];
      if (values && typeof field === 'number' && to === 'name') {
        const name = Object.keys(values).find((candidate) => values[candidate] === field);
        return [key, name ?? field];
      }
      return [key, mapEnums(field, to)];
    }),
  );
}

const revisionName = (id: string) => `${SERVICE_NAME}/revisions/${id}`;
const ready = (since: string) => [
  { type: 'Ready', state: 'CONDITION_SUCCEEDED', lastTransitionTime: since, severity: 'SEVERITY_UNSPECIFIED' },
];

export const IMAGE = (tag: string) => `${REGION}-docker.pkg.dev/${PROJECT}/switchyard/worker:${tag}`;

/**
 * Four revisions: three ready ones and the newest, which failed to start, so the latest
 * created and the latest ready revision differ. All traffic follows the latest ready revision;
 * the second one keeps a `previous` tag (its own URL, no traffic).
 */
function initialRevisions(): Json[] {
  return [
    { id: 'switchyard-worker-00001-abc', image: IMAGE('sha-1'), created: '2026-11-20T09:00:00Z' },
    { id: 'switchyard-worker-00002-def', image: IMAGE('sha-2'), created: '2026-11-24T09:00:00Z' },
    { id: 'switchyard-worker-00003-ghi', image: IMAGE('sha-3'), created: '2026-11-27T09:00:00Z' },
    { id: 'switchyard-worker-00004-jkl', image: IMAGE('sha-4'), created: '2026-11-28T09:00:00Z', failed: true },
  ].map((revision) => ({
    name: revisionName(revision.id),
    uid: randomUUID(),
    generation: '1',
    createTime: revision.created,
    updateTime: revision.created,
    service: SERVICE_NAME,
    scaling: { maxInstanceCount: 10 },
    maxInstanceRequestConcurrency: 1,
    timeout: '900s',
    containers: [{ image: revision.image, resources: { limits: { cpu: '2', memory: '4Gi' } } }],
    conditions: revision.failed
      ? [
          {
            type: 'Ready',
            state: 'CONDITION_FAILED',
            message: 'The user-provided container failed to start and listen on the port defined by PORT=8080.',
            lastTransitionTime: revision.created,
            severity: 'ERROR',
          },
        ]
      : ready(revision.created),
  }));
}

function initialService(): Json {
  return {
    name: SERVICE_NAME,
    uid: randomUUID(),
    generation: '7',
    createTime: '2026-11-20T09:00:00Z',
    updateTime: '2026-11-28T09:00:00.250Z',
    creator: 'ops@switchyard.example',
    lastModifier: 'ops@switchyard.example',
    ingress: 'INGRESS_TRAFFIC_ALL',
    template: {
      scaling: { maxInstanceCount: 10 },
      timeout: '900s',
      maxInstanceRequestConcurrency: 1,
      containers: [{ image: IMAGE('sha-4'), resources: { limits: { cpu: '2', memory: '4Gi' } } }],
    },
    traffic: [
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 },
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'switchyard-worker-00002-def', tag: 'previous' },
    ],
    scaling: { minInstanceCount: 0, maxInstanceCount: 20 },
    observedGeneration: '7',
    terminalCondition: {
      type: 'Ready',
      state: 'CONDITION_FAILED',
      message: "Revision 'switchyard-worker-00004-jkl' is not ready and cannot serve traffic.",
      lastTransitionTime: '2026-11-28T09:00:00Z',
      severity: 'ERROR',
    },
    latestReadyRevision: revisionName('switchyard-worker-00003-ghi'),
    latestCreatedRevision: revisionName('switchyard-worker-00004-jkl'),
    uri: 'https://switchyard-worker-abc123-ew.a.run.app',
    reconciling: false,
    etag: '"etag-1"',
  };
}

/** What Cloud Run reports as serving: the declared routes, with LATEST resolved to a revision. */
function trafficStatuses(service: Json): Json[] {
  return (service.traffic as Json[]).map((target) => ({
    type: target.type,
    revision:
      target.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST'
        ? (service.latestReadyRevision as string).split('/').pop()
        : target.revision,
    ...(target.percent ? { percent: target.percent } : {}),
    ...(target.tag ? { tag: target.tag, uri: `https://${target.tag}---switchyard-worker-abc123-ew.a.run.app` } : {}),
  }));
}

export interface RecordedPatch {
  updateMask: string | null;
  query: Record<string, string>;
  body: Json;
}

export async function startCloudRunStandIn() {
  let service = initialService();
  let revisions = initialRevisions();
  let etagCounter = 1;
  const requests: { method: string; path: string }[] = [];
  const patches: RecordedPatch[] = [];
  const operations = new Map<string, { polls: number; outcome: Json; stalled: boolean }>();
  let nextUpdate: { kind: 'fail'; code: number; message: string } | { kind: 'conflict' } | { kind: 'stall' } | null =
    null;

  const withStatuses = (): Json => ({ ...service, trafficStatuses: trafficStatuses(service) });

  /** Someone else changes the service: a new etag, as after any write. */
  function concurrentChange() {
    etagCounter += 1;
    service = {
      ...service,
      etag: `"etag-${etagCounter}"`,
      lastModifier: 'someone-else@switchyard.example',
      updateTime: new Date().toISOString(),
    };
  }

  function apply(updateMask: string[], patch: Json): Json {
    etagCounter += 1;
    const next = { ...service };
    for (const path of updateMask) next[path] = patch[path];
    next.generation = String(Number(service.generation) + 1);
    next.observedGeneration = next.generation;
    next.updateTime = new Date().toISOString();
    next.lastModifier = MODIFIER;
    next.etag = `"etag-${etagCounter}"`;
    return next;
  }

  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://run.googleapis.com');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    requests.push({ method: request.method ?? 'GET', path: url.pathname });
    const enumsAsInts = url.searchParams.get('$alt') === 'json;enum-encoding=int';
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      response.end(JSON.stringify(enumsAsInts ? mapEnums(body, 'int') : body));
    };
    /** A google.rpc.Status error, as Google APIs answer over REST. */
    const refuse = (status: number, code: string, message: string) =>
      send(status, { error: { code: status, message, status: code } });

    if (url.pathname === `/v2/${SERVICE_NAME}`) {
      if (request.method === 'GET') return send(200, withStatuses());
      if (request.method === 'PATCH') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
        const updateMask = url.searchParams.get('updateMask');
        patches.push({ updateMask, query: Object.fromEntries(url.searchParams), body });
        const planned = nextUpdate;
        nextUpdate = null;
        if (planned?.kind === 'conflict') concurrentChange();
        if (body.etag !== undefined && body.etag !== service.etag)
          return refuse(409, 'ABORTED', `etag mismatch: the service changed (current etag ${service.etag}).`);
        const paths = (updateMask ?? '').split(',').filter(Boolean);
        const unknown = paths.filter((path) => path !== 'traffic' && path !== 'scaling');
        if (paths.length === 0 || unknown.length > 0)
          return refuse(
            400,
            'INVALID_ARGUMENT',
            `This stand-in updates traffic and scaling only, not "${updateMask}".`,
          );
        const patch = mapEnums(body, 'name') as Json;
        if (paths.includes('traffic')) {
          const targets = (patch.traffic ?? []) as Json[];
          const total = targets.reduce((sum, target) => sum + (target.percent ?? 0), 0);
          if (total !== 100) return refuse(400, 'INVALID_ARGUMENT', `Traffic percentages add up to ${total}, not 100.`);
          const known = new Set(revisions.map((revision) => (revision.name as string).split('/').pop()));
          const missing = targets.find((target) => target.revision && !known.has(target.revision));
          if (missing) return refuse(400, 'INVALID_ARGUMENT', `Revision ${missing.revision} does not exist.`);
        }
        const name = `${OPERATIONS}/${randomUUID()}`;
        const outcome =
          planned?.kind === 'fail'
            ? { error: { code: planned.code, message: planned.message } }
            : { apply: () => (service = apply(paths, patch)) };
        operations.set(name, { polls: 0, outcome, stalled: planned?.kind === 'stall' });
        return send(200, {
          name,
          metadata: { '@type': SERVICE_TYPE, ...withStatuses() },
          done: false,
        });
      }
    }

    if (request.method === 'GET' && url.pathname === `/v2/${SERVICE_NAME}/revisions`) return send(200, { revisions });

    if (request.method === 'GET' && url.pathname.startsWith(`/v2/${OPERATIONS}/`)) {
      const name = url.pathname.slice('/v2/'.length);
      const operation = operations.get(name);
      if (!operation) return refuse(404, 'NOT_FOUND', `Operation ${name} was not found.`);
      operation.polls += 1;
      // Running on the first poll; finished on the second (never, when stalled).
      if (operation.stalled || operation.polls < 2) return send(200, { name, done: false });
      if (operation.outcome.error) return send(200, { name, done: true, error: operation.outcome.error });
      if (operation.outcome.apply) {
        operation.outcome.apply();
        delete operation.outcome.apply;
      }
      return send(200, { name, done: true, response: { '@type': SERVICE_TYPE, ...withStatuses() } });
    }

    refuse(404, 'NOT_FOUND', `The stand-in does not serve ${request.method} ${url.pathname}.`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const apiEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiEndpoint,
    /** The env that points the app at this stand-in. */
    env: {
      CLOUD_RUN_PROJECT: PROJECT,
      CLOUD_RUN_REGION: REGION,
      CLOUD_RUN_SERVICE: SERVICE,
      CLOUD_RUN_API_ENDPOINT: apiEndpoint,
    },
    /** The service as Cloud Run holds it now (enum names, as proto3 JSON). */
    service: () => withStatuses(),
    requests,
    patches,
    /** The next update is accepted, and its operation ends with this error. */
    failNextUpdate: (error: { code: number; message: string }) => void (nextUpdate = { kind: 'fail', ...error }),
    /** Someone else changes the service just before the next update arrives: it meets a new etag. */
    conflictNextUpdate: () => void (nextUpdate = { kind: 'conflict' }),
    /** The next update's operation never finishes. */
    stallNextUpdate: () => void (nextUpdate = { kind: 'stall' }),
    /** Someone else changes the service now (a new etag, as after a change in the console). */
    changeElsewhere: concurrentChange,
    reset() {
      service = initialService();
      revisions = initialRevisions();
      etagCounter = 1;
      requests.length = 0;
      patches.length = 0;
      operations.clear();
      nextUpdate = null;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // The client keeps connections alive; close would otherwise wait for them to time out.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type CloudRunStandIn = Awaited<ReturnType<typeof startCloudRunStandIn>>;
