import { protos, RevisionsClient, ServicesClient } from '@google-cloud/run';
import { PassThroughClient } from 'google-auth-library';

import type { AppEnv } from './env.server';

/**
 * The Cloud Run worker service, read and steered through the Cloud Run Admin API v2.
 * Everything the rest of the app sees is a plain view model; the API's message shapes stay here.
 */

type ApiService = protos.google.cloud.run.v2.IService;
type ApiRevision = protos.google.cloud.run.v2.IRevision;
type ApiCondition = protos.google.cloud.run.v2.ICondition;
type ApiTrafficTarget = protos.google.cloud.run.v2.ITrafficTarget;
type ApiTrafficStatus = protos.google.cloud.run.v2.ITrafficTargetStatus;

type GaxAuthClient = NonNullable<ConstructorParameters<typeof ServicesClient>[0]>['authClient'];

export type ConditionState = 'ready' | 'failed' | 'reconciling' | 'pending' | 'unknown';

export interface CloudRunCondition {
  state: ConditionState;
  message: string | null;
  since: Date | null;
}

/** One traffic route: to the latest ready revision, or to a named one. A tag gives it its own URL. */
export interface TrafficRoute {
  kind: 'latest' | 'revision';
  /** Short revision name; for `latest`, the revision it resolved to, when Cloud Run says. */
  revision: string | null;
  percent: number;
  tag: string | null;
  uri: string | null;
}

export interface CloudRunServiceView {
  /** projects/{project}/locations/{region}/services/{service} */
  name: string;
  uri: string | null;
  ready: CloudRunCondition;
  reconciling: boolean;
  latestCreatedRevision: string | null;
  latestReadyRevision: string | null;
  /** What was asked for. */
  traffic: TrafficRoute[];
  /** What Cloud Run serves now. */
  trafficStatuses: TrafficRoute[];
  /** Service-level instance bounds; max null = no service-level limit. */
  scaling: { minInstances: number; maxInstances: number | null; mode: 'automatic' | 'manual' };
  /** The revision template's own bounds, if set: they bind each new revision too. */
  revisionScaling: { minInstances: number; maxInstances: number | null } | null;
  concurrency: number | null;
  timeoutSeconds: number | null;
  cpu: string | null;
  memory: string | null;
  image: string | null;
  updatedAt: Date | null;
  lastModifier: string | null;
  etag: string;
}

export interface CloudRunRevisionView {
  name: string;
  createdAt: Date | null;
  image: string | null;
  ready: CloudRunCondition;
  /** Share of traffic it serves now, from the service's traffic statuses. */
  trafficPercent: number;
  tags: string[];
}

export interface CloudRunState {
  service: CloudRunServiceView;
  /** Newest first. */
  revisions: CloudRunRevisionView[];
}

export type CloudRunChange =
  /**
   * Service-level `scaling`, not the revision template's: a template change deploys a new
   * revision (and a rollback would bring back the old revision's bounds), while service-level
   * bounds apply at once to whichever revisions serve traffic, with no deploy.
   */
  | { kind: 'scaling'; minInstances: number; maxInstances: number }
  /** The complete split: these revisions get these percentages, every other route gets none. */
  | { kind: 'traffic'; split: { revision: string; percent: number }[] };

export type UpdateOutcome =
  | { status: 'done'; operation: string; service: CloudRunServiceView }
  /** Someone else changed the service after it was read: Cloud Run refused the write (ABORTED, 409). */
  | { status: 'conflict'; message: string }
  /** Refused outright, or accepted and then failed: the operation's error. */
  | { status: 'failed'; operation: string | null; code: number | null; message: string }
  /** Accepted, but not finished within the wait: it may still complete. */
  | { status: 'unfinished'; operation: string; waitedSeconds: number };

export interface CloudRunControl {
  serviceName: string;
  read(): Promise<CloudRunState>;
  /**
   * Read-modify-write: `change` is applied on top of `basis` (the service as last read) and
   * sent with the basis's etag, so a change made by anyone in between is refused, never
   * overwritten. Resolves when Cloud Run's operation has finished, or the wait ran out.
   */
  update(change: CloudRunChange, basis: CloudRunServiceView): Promise<UpdateOutcome>;
}

export interface CloudRunTarget {
  project: string;
  region: string;
  service: string;
  /** http(s)://host:port of a local stand-in or emulator: no credentials are sent there. */
  apiEndpoint?: string;
  /** How long an update waits for Cloud Run's operation before reporting it unfinished. */
  operationTimeoutMs?: number;
}

export function createCloudRunControl(target: CloudRunTarget): CloudRunControl {
  const serviceName = `projects/${target.project}/locations/${target.region}/services/${target.service}`;
  // The REST transport everywhere, so production speaks exactly what the tests' stand-in checks.
  const options = target.apiEndpoint
    ? (() => {
        const url = new URL(target.apiEndpoint);
        return {
          fallback: true,
          apiEndpoint: url.hostname,
          port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
          protocol: url.protocol.replace(':', ''),
          // WARNING: google-gax bundles its own google-auth-library (10.5 beside our 10.9): the
          // same AuthClient API, but to TypeScript two unrelated classes.
          authClient: new PassThroughClient() as unknown as GaxAuthClient,
        };
      })()
    : // Application Default Credentials: the service account on Google Cloud, or
      // GOOGLE_APPLICATION_CREDENTIALS / `gcloud auth application-default login` elsewhere.
      { fallback: true };
  const services = new ServicesClient(options);
  const revisions = new RevisionsClient(options);
  const timeoutMs = target.operationTimeoutMs ?? 120_000;

  return {
    serviceName,

    async read() {
      try {
        const [[service], [list]] = await Promise.all([
          services.getService({ name: serviceName }),
          revisions.listRevisions({ parent: serviceName }),
        ]);
        const view = serviceView(service);
        return { service: view, revisions: revisionViews(list, view) };
      } catch (error) {
        throw new Error(apiErrorMessage(error), { cause: error });
      }
    },

    async update(change, basis) {
      const request =
        change.kind === 'scaling'
          ? {
              service: {
                name: serviceName,
                etag: basis.etag,
                // Replaces the whole `scaling` message, mode included (unset = automatic): callers
                // refuse services in manual mode, where instance bounds do not apply.
                scaling: { minInstanceCount: change.minInstances, maxInstanceCount: change.maxInstances },
              },
              updateMask: { paths: ['scaling'] },
            }
          : {
              service: { name: serviceName, etag: basis.etag, traffic: trafficFor(change.split, basis.traffic) },
              updateMask: { paths: ['traffic'] },
            };

      let operation;
      try {
        [operation] = await services.updateService(request, {
          longrunning: {
            initialRetryDelayMillis: 250,
            retryDelayMultiplier: 1.5,
            maxRetryDelayMillis: 5_000,
            totalTimeoutMillis: timeoutMs,
          },
        });
      } catch (error) {
        if (isConflict(error))
          return {
            status: 'conflict',
            message: `Cloud Run refused the update because the service changed since it was read: ${apiErrorMessage(error)}`,
          };
        return { status: 'failed', operation: null, code: apiErrorCode(error), message: apiErrorMessage(error) };
      }
      const name = operation.name ?? '(unnamed operation)';
      const started = Date.now();
      try {
        const [result] = await operation.promise();
        // The operation's response is a decoded protobuf message (numeric enums, Long seconds):
        // bring it to the same plain shape getService returns.
        const plain = protos.google.cloud.run.v2.Service.toObject(result as protos.google.cloud.run.v2.Service, {
          enums: String,
          longs: String,
          defaults: true,
        }) as ApiService;
        return { status: 'done', operation: name, service: serviceView(plain) };
      } catch (error) {
        // WARNING: the poller gives up with DEADLINE_EXCEEDED, the same code an operation can
        // fail with; only the last poll's `done` tells "Cloud Run failed it" from "still running".
        if (!operation.latestResponse.done)
          return { status: 'unfinished', operation: name, waitedSeconds: Math.round((Date.now() - started) / 1000) };
        return { status: 'failed', operation: name, code: apiErrorCode(error), message: apiErrorMessage(error) };
      }
    },
  };
}

const controls = new Map<string, CloudRunControl>();

/**
 * The Cloud Run service the Worker page reads and steers, or null when it is not configured.
 * Created on first use and kept for the process (its HTTP agents and credentials are reused),
 * one per distinct configuration.
 */
export function cloudRunFromEnv(
  env: Pick<AppEnv, 'CLOUD_RUN_PROJECT' | 'CLOUD_RUN_REGION' | 'CLOUD_RUN_SERVICE' | 'CLOUD_RUN_API_ENDPOINT'>,
): CloudRunControl | null {
  const { CLOUD_RUN_PROJECT: project, CLOUD_RUN_REGION: region, CLOUD_RUN_SERVICE: service } = env;
  if (!project || !region || !service) return null;
  const key = JSON.stringify([project, region, service, env.CLOUD_RUN_API_ENDPOINT ?? null]);
  let control = controls.get(key);
  if (!control) {
    control = createCloudRunControl({ project, region, service, apiEndpoint: env.CLOUD_RUN_API_ENDPOINT });
    controls.set(key, control);
  }
  return control;
}

/**
 * The split as new routes, plus every tagged route kept at 0%: a tag is a revision's own URL
 * (https://tag---service…), and moving traffic must not take those away.
 */
function trafficFor(split: { revision: string; percent: number }[], current: TrafficRoute[]): ApiTrafficTarget[] {
  return [
    ...split.map(({ revision, percent }) => ({
      type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const,
      revision,
      percent,
    })),
    ...current
      .filter((route) => route.tag)
      .map((route) =>
        route.kind === 'latest'
          ? { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' as const, tag: route.tag, percent: 0 }
          : {
              type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const,
              revision: route.revision,
              tag: route.tag,
              percent: 0,
            },
      ),
  ];
}

/** Resource names (projects/…/revisions/x) and bare names alike, as the bare name. */
function shortName(name: string | null | undefined): string | null {
  return name ? (name.split('/').pop() ?? name) : null;
}

function timestamp(value: protos.google.protobuf.ITimestamp | null | undefined): Date | null {
  if (!value || value.seconds == null) return null;
  return new Date(Number(String(value.seconds)) * 1000 + Math.round((value.nanos ?? 0) / 1e6));
}

function seconds(value: protos.google.protobuf.IDuration | null | undefined): number | null {
  return value && value.seconds != null ? Number(String(value.seconds)) : null;
}

const CONDITION_STATES: Record<string, ConditionState> = {
  CONDITION_SUCCEEDED: 'ready',
  CONDITION_FAILED: 'failed',
  CONDITION_RECONCILING: 'reconciling',
  CONDITION_PENDING: 'pending',
};

function condition(value: ApiCondition | null | undefined): CloudRunCondition {
  return {
    state: CONDITION_STATES[String(value?.state)] ?? 'unknown',
    message: value?.message || null,
    since: timestamp(value?.lastTransitionTime),
  };
}

function route(target: ApiTrafficTarget | ApiTrafficStatus, latestReady: string | null): TrafficRoute {
  const latest = String(target.type) === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
  return {
    kind: latest ? 'latest' : 'revision',
    revision: shortName(target.revision) ?? (latest ? latestReady : null),
    percent: target.percent ?? 0,
    tag: target.tag || null,
    uri: ('uri' in target && target.uri) || null,
  };
}

function instanceBounds(scaling: { minInstanceCount?: number | null; maxInstanceCount?: number | null }) {
  return { minInstances: scaling.minInstanceCount ?? 0, maxInstances: scaling.maxInstanceCount || null };
}

function serviceView(service: ApiService): CloudRunServiceView {
  const template = service.template;
  const container = template?.containers?.[0];
  const limits = container?.resources?.limits ?? {};
  const latestReady = shortName(service.latestReadyRevision);
  return {
    name: service.name ?? '',
    uri: service.uri || null,
    ready: condition(service.terminalCondition),
    reconciling: Boolean(service.reconciling),
    latestCreatedRevision: shortName(service.latestCreatedRevision),
    latestReadyRevision: latestReady,
    traffic: (service.traffic ?? []).map((target) => route(target, null)),
    trafficStatuses: (service.trafficStatuses ?? []).map((status) => route(status, latestReady)),
    scaling: {
      ...instanceBounds(service.scaling ?? {}),
      mode: String(service.scaling?.scalingMode) === 'MANUAL' ? 'manual' : 'automatic',
    },
    revisionScaling: template?.scaling ? instanceBounds(template.scaling) : null,
    concurrency: template?.maxInstanceRequestConcurrency || null,
    timeoutSeconds: seconds(template?.timeout),
    cpu: limits.cpu ?? null,
    memory: limits.memory ?? null,
    image: container?.image || null,
    updatedAt: timestamp(service.updateTime),
    lastModifier: service.lastModifier || null,
    etag: service.etag ?? '',
  };
}

function revisionViews(revisions: ApiRevision[], service: CloudRunServiceView): CloudRunRevisionView[] {
  return revisions
    .map((revision) => {
      const name = shortName(revision.name) ?? '';
      const serving = service.trafficStatuses.filter((status) => status.revision === name);
      return {
        name,
        createdAt: timestamp(revision.createTime),
        image: revision.containers?.[0]?.image || null,
        ready: condition(revision.conditions?.find((candidate) => candidate.type === 'Ready')),
        trafficPercent: serving.reduce((sum, status) => sum + status.percent, 0),
        tags: serving.flatMap((status) => (status.tag ? [status.tag] : [])),
      };
    })
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
}

/**
 * Over REST, an API error reaches us as an HTTP error whose message is the google.rpc status
 * JSON (`{"error":{"code":409,"status":"ABORTED","message":…}}`); over gRPC, or from a failed
 * operation, as an error with a numeric gRPC code. Both are read here.
 */
function rpcStatus(error: unknown): { code: number | null; status: string | null; message: string } {
  const raw = error as { message?: unknown; code?: unknown; status?: unknown } | null;
  const message = typeof raw?.message === 'string' ? raw.message : String(error);
  try {
    const parsed = JSON.parse(message) as { error?: { code?: number; status?: string; message?: string } };
    if (parsed.error?.message)
      return { code: parsed.error.code ?? null, status: parsed.error.status ?? null, message: parsed.error.message };
  } catch {
    // Not a JSON body: a gRPC-style or network error.
  }
  return { code: typeof raw?.code === 'number' ? raw.code : null, status: null, message };
}

const GRPC_ABORTED = 10;

function isConflict(error: unknown): boolean {
  const { code, status } = rpcStatus(error);
  return status === 'ABORTED' || code === 409 || code === GRPC_ABORTED;
}

/** The API's message as one sentence, with its status name when there is one. */
function apiErrorMessage(error: unknown): string {
  const { status, message } = rpcStatus(error);
  const sentence = message.trim().replace(/\.$/, '');
  return `${status ? `${status}: ${sentence}` : sentence}.`;
}

function apiErrorCode(error: unknown): number | null {
  return rpcStatus(error).code;
}
