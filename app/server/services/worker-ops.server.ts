import { z } from 'zod';

import { audit } from '../audit.server';
import type { CloudRunChange, CloudRunControl, CloudRunState, UpdateOutcome } from '../cloud-run.server';
import type { Queryable } from '../db/port.server';

/**
 * Steering the Cloud Run worker service from the Worker page: instance bounds, a traffic split
 * between revisions, and a rollback. Each request is checked before anything is sent, applied
 * against the state the user saw (its etag), waited for, and audited once it reached Cloud Run.
 */

/** Cloud Run's ceiling on instances per service; higher needs a quota increase anyway. */
const MAX_INSTANCES = 1000;

const confirmed = z.literal('yes', {
  message: 'Tick the confirmation box: changes to the worker service apply to live traffic at once.',
});
const etag = z
  .string({ message: 'The form is missing the service version; reload the page and try again.' })
  .min(1, { message: 'The form is missing the service version; reload the page and try again.' });
const instances = (label: string) =>
  z.coerce
    .number({ message: `${label} must be a whole number.` })
    .int({ message: `${label} must be a whole number.` })
    .min(0, { message: `${label} must be 0 or more.` })
    .max(MAX_INSTANCES, { message: `${label} must be at most ${MAX_INSTANCES}.` });
const revisionName = z.string({ message: 'Choose a revision.' }).trim().min(1, { message: 'Choose a revision.' });
const percent = z.coerce
  .number({ message: 'Each traffic share must be a whole percentage.' })
  .int({ message: 'Each traffic share must be a whole percentage.' })
  .min(0, { message: 'A traffic share cannot be negative.' })
  .max(100, { message: 'A traffic share cannot exceed 100%.' });

const WorkerOpsFormSchema = z.discriminatedUnion(
  'intent',
  [
    z.object({
      intent: z.literal('scale'),
      etag,
      confirm: confirmed,
      minInstances: instances('Minimum instances'),
      maxInstances: instances('Maximum instances'),
    }),
    z.object({
      intent: z.literal('split'),
      etag,
      confirm: confirmed,
      revisions: z.array(revisionName),
      percents: z.array(percent),
    }),
    z.object({ intent: z.literal('rollback'), etag, confirm: confirmed, revision: revisionName }),
  ],
  { message: 'Unknown action: use the buttons on the Worker page.' },
);

export type WorkerOpsRequest =
  | { intent: 'scale'; etag: string; minInstances: number; maxInstances: number }
  | { intent: 'split'; etag: string; split: { revision: string; percent: number }[] }
  | { intent: 'rollback'; etag: string; revision: string };

/** The Worker page's forms, as one request. A split row left empty counts as 0%. */
export function parseWorkerOpsForm(
  form: FormData,
): { ok: true; request: WorkerOpsRequest } | { ok: false; message: string } {
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  const parsed = WorkerOpsFormSchema.safeParse({
    intent: text('intent'),
    etag: text('etag'),
    confirm: text('confirm'),
    minInstances: text('minInstances'),
    maxInstances: text('maxInstances'),
    revision: text('revision'),
    revisions: form.getAll('revision').map(String),
    percents: form.getAll('percent').map((value) => String(value).trim() || '0'),
  });
  if (!parsed.success) return { ok: false, message: [...new Set(parsed.error.issues.map((i) => i.message))].join(' ') };
  const data = parsed.data;
  if (data.intent !== 'split') return { ok: true, request: data };
  if (data.revisions.length !== data.percents.length)
    return { ok: false, message: 'Give each revision in the split one percentage.' };
  const split = data.revisions
    .map((revision, i) => ({ revision, percent: data.percents[i] }))
    .filter((route) => route.percent > 0);
  return { ok: true, request: { intent: 'split', etag: data.etag, split } };
}

export interface WorkerOpsResult {
  ok: boolean;
  /** HTTP status for the action's answer. */
  status: number;
  message: string;
}

const refuse = (message: string, status = 400): WorkerOpsResult => ({ ok: false, status, message });

/** Checks that need nothing but the request: refused before Cloud Run is asked anything. */
function checkRequest(request: WorkerOpsRequest): string | null {
  if (request.intent === 'scale' && request.maxInstances < 1)
    return 'Maximum instances must be at least 1, or the service could never serve a request.';
  if (request.intent === 'scale' && request.minInstances > request.maxInstances)
    return `Minimum instances (${request.minInstances}) cannot exceed maximum instances (${request.maxInstances}).`;
  if (request.intent === 'split') {
    const total = request.split.reduce((sum, route) => sum + route.percent, 0);
    if (total !== 100)
      return `The traffic shares add up to ${total}%, not 100%. Adjust them so they total exactly 100%.`;
    const names = request.split.map((route) => route.revision);
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    if (repeated) return `Revision ${repeated} appears twice in the split; give it one share.`;
  }
  return null;
}

/** Checks against the service as Cloud Run has it now; still before anything is changed. */
function checkAgainst(state: CloudRunState, request: WorkerOpsRequest): string | null {
  const { service, revisions } = state;
  if (request.intent === 'scale') {
    if (service.scaling.mode === 'manual')
      return 'The service uses manual scaling, where minimum and maximum instances do not apply. Switch it to automatic scaling in the Cloud Console first.';
    return null;
  }
  const targets = request.intent === 'split' ? request.split.map((route) => route.revision) : [request.revision];
  for (const target of targets) {
    const revision = revisions.find((candidate) => candidate.name === target);
    if (!revision)
      return `Revision ${target} does not exist in this service. Choose one of: ${revisions.map((r) => r.name).join(', ')}.`;
    if (revision.ready.state !== 'ready')
      return `Revision ${target} is not ready (${revision.ready.message ?? revision.ready.state}), so it cannot serve traffic. Choose a ready revision.`;
  }
  if (request.intent === 'rollback') {
    const serving = revisions.find((revision) => revision.name === request.revision);
    if (serving?.trafficPercent === 100) return `Revision ${request.revision} already serves all traffic.`;
  }
  return null;
}

function changeFor(request: WorkerOpsRequest): CloudRunChange {
  if (request.intent === 'scale')
    return { kind: 'scaling', minInstances: request.minInstances, maxInstances: request.maxInstances };
  if (request.intent === 'split') return { kind: 'traffic', split: request.split };
  return { kind: 'traffic', split: [{ revision: request.revision, percent: 100 }] };
}

function describeTraffic(outcome: Extract<UpdateOutcome, { status: 'done' }>): string {
  return outcome.service.traffic
    .filter((route) => route.percent > 0)
    .map((route) => `${route.kind === 'latest' ? 'latest ready revision' : route.revision} ${route.percent}%`)
    .join(', ');
}

function resultFor(request: WorkerOpsRequest, outcome: UpdateOutcome): WorkerOpsResult {
  switch (outcome.status) {
    case 'done': {
      const { scaling } = outcome.service;
      const message =
        request.intent === 'scale'
          ? `Scaling changed: the service now runs ${scaling.minInstances} to ${scaling.maxInstances ?? 'unlimited'} instances.`
          : request.intent === 'rollback'
            ? `Rolled back: revision ${request.revision} now serves 100% of traffic.`
            : `Traffic split changed: ${describeTraffic(outcome)}.`;
      return { ok: true, status: 200, message: `${message} Cloud Run finished the change.` };
    }
    case 'conflict':
      return refuse(
        `Nothing was changed: ${outcome.message} Review the service as it is now, below, and try again.`,
        409,
      );
    case 'failed':
      return refuse(
        `Cloud Run did not make the change: ${outcome.message} The page below shows the service as Cloud Run has it now.`,
        502,
      );
    case 'unfinished':
      return {
        ok: false,
        status: 202,
        message: `Cloud Run accepted the change but had not finished it after ${outcome.waitedSeconds} s (operation ${outcome.operation}). It may still complete: reload this page in a minute to see whether it did.`,
      };
  }
}

/**
 * Validates, applies and audits one Worker page action. `cloudRun` is null when Cloud Run is
 * not configured.
 */
export async function operateWorkerService(
  db: Queryable,
  cloudRun: CloudRunControl | null,
  actor: string,
  request: WorkerOpsRequest,
): Promise<WorkerOpsResult> {
  if (!cloudRun)
    return refuse(
      'Cloud Run is not configured: set CLOUD_RUN_PROJECT, CLOUD_RUN_REGION and CLOUD_RUN_SERVICE to steer the worker service.',
      503,
    );
  const problem = checkRequest(request);
  if (problem) return refuse(problem);

  let state: CloudRunState;
  try {
    state = await cloudRun.read();
  } catch (error) {
    return refuse(
      `Nothing was changed: the Cloud Run service could not be read: ${(error as Error).message} Check the app's credentials and its access to the service.`,
      502,
    );
  }
  if (state.service.etag !== request.etag) {
    const by = state.service.lastModifier ? ` by ${state.service.lastModifier}` : '';
    return refuse(
      `Nothing was changed: the service was changed${by} after this page was loaded. Review it as it is now, below, and try again.`,
      409,
    );
  }
  const mismatch = checkAgainst(state, request);
  if (mismatch) return refuse(mismatch);

  const change = changeFor(request);
  const outcome = await cloudRun.update(change, state.service);
  await audit(db, {
    actor,
    action: `worker.${request.intent}`,
    targetType: 'cloud_run_service',
    targetId: cloudRun.serviceName,
    detail: {
      outcome: outcome.status,
      change,
      etag: request.etag,
      ...(outcome.status === 'done' || outcome.status === 'unfinished' ? { operation: outcome.operation } : {}),
      ...(outcome.status === 'failed'
        ? { operation: outcome.operation, code: outcome.code, error: outcome.message }
        : {}),
      ...(outcome.status === 'conflict' ? { error: outcome.message } : {}),
    },
  });
  return resultFor(request, outcome);
}
