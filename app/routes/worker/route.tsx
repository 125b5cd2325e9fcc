import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData, useRouteLoaderData } from '@remix-run/react';

import { Toast } from '~/components/toast';
import { can } from '~/domain/permissions';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { cloudRunFromEnv } from '~/server/cloud-run.server';
import { presentFleet } from '~/server/fleet.server';
import { presentWorkerPage, summarizeListener } from '~/server/presenters/workers.server';
import { getRuntime } from '~/server/runtime.server';
import { operateWorkerService, parseWorkerOpsForm } from '~/server/services/worker-ops.server';

import { LiveInstances } from './fleet-table';
import { Operations } from './operations';
import { QueuePanel } from './queue-panel';
import { FleetPanel } from './fleet-panel';
import { Revisions, ServiceStatus } from './service-status';

export const meta: MetaFunction = () => [{ title: 'Worker · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db, env, fleet } = await getRuntime();
  const [page, fleetStatus] = await Promise.all([
    presentWorkerPage(db, env.WORKER_LEASE_SECONDS, cloudRunFromEnv(env)),
    fleet ? fleet.maxInstances().then((max) => presentFleet(db, max)) : null,
  ]);
  return json({ ...page, fleet: fleetStatus, appListener: summarizeListener(db.listenerState()) });
}

type ActionResult = { ok: boolean; message: string };

export async function action({ request }: ActionFunctionArgs) {
  const staff = await requirePermission(request, 'worker.operate');
  const parsed = parseWorkerOpsForm(await readForm(request));
  if (!parsed.ok) return json<ActionResult>({ ok: false, message: parsed.message }, { status: 400 });
  const { db, env } = await getRuntime();
  const result = await operateWorkerService(db, cloudRunFromEnv(env), staff.email, parsed.request);
  return json<ActionResult>({ ok: result.ok, message: result.message }, { status: result.status });
}

export default function WorkerPage() {
  const { cloudRun, workers, queue, appListener, fleet } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const role = useRouteLoaderData<typeof rootLoader>('root')?.staff?.role;
  const mayOperate = role ? can(role, 'worker.operate') : false;
  return (
    <>
      <header className="page-header">
        <h1>Worker</h1>
        <p className="lede">
          The Cloud Run service that runs the worker, and the worker instances that claim jobs from the queue.
        </p>
      </header>
      <Toast result={result} />

      <section className="panel" aria-labelledby="cloud-run">
        <h2 id="cloud-run">Cloud Run service</h2>
        {!cloudRun.configured ? (
          <p data-testid="cloud-run-unconfigured">
            Cloud Run is not configured, so the service&apos;s revisions, traffic and scaling cannot be shown here. Set{' '}
            <code>CLOUD_RUN_PROJECT</code>, <code>CLOUD_RUN_REGION</code> and <code>CLOUD_RUN_SERVICE</code>; the app
            authenticates with Application Default Credentials. The queue and live instances below come from the
            database and work without it.
          </p>
        ) : cloudRun.error !== null ? (
          <p className="form-error" role="alert">
            The service <code>{cloudRun.serviceName}</code> could not be read: {cloudRun.error} Check that the
            app&apos;s credentials may view it (the Cloud Run Viewer role) and that the project, region and service
            names are right.
          </p>
        ) : (
          <ServiceStatus state={cloudRun.state} />
        )}
      </section>

      {cloudRun.configured && cloudRun.state ? (
        <>
          <Revisions state={cloudRun.state} />
          {mayOperate ? <Operations state={cloudRun.state} /> : null}
        </>
      ) : null}

      <QueuePanel queue={queue} />

      <FleetPanel fleet={fleet} />

      <LiveInstances workers={workers} appListener={appListener} />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
