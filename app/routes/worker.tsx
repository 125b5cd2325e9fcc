import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Age, useNow } from '~/components/clock';
import { Toast } from '~/components/toast';
import { Form, Link, useActionData, useLoaderData, useNavigation, useRouteLoaderData } from '@remix-run/react';
import type { ReactNode } from 'react';

import { EmptyState } from '~/components/empty-state';
import { formatAge, formatCount } from '~/components/format';
import { Stat } from '~/components/stat';
import { can } from '~/domain/permissions';
import { paths } from '~/paths';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { cloudRunFromEnv } from '~/server/cloud-run.server';
import { presentWorkerPage, summarizeListener } from '~/server/presenters/workers.server';
import { getRuntime } from '~/server/runtime.server';
import { operateWorkerService, parseWorkerOpsForm } from '~/server/services/worker-ops.server';

export const meta: MetaFunction = () => [{ title: 'Worker · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db, env } = await getRuntime();
  const page = await presentWorkerPage(db, env.WORKER_LEASE_SECONDS, cloudRunFromEnv(env));
  return json({ ...page, appListener: summarizeListener(db.listenerState()) });
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

type PageData = ReturnType<typeof useLoaderData<typeof loader>>;
type ServiceState = NonNullable<Extract<PageData['cloudRun'], { configured: true }>['state']>;
type Condition = ServiceState['service']['ready'];

export default function WorkerPage() {
  const { cloudRun, workers, queue, appListener } = useLoaderData<typeof loader>();
  const now = useNow();
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

      <section className="panel" aria-labelledby="queue">
        <h2 id="queue">Queue</h2>
        <dl className="stats">
          <Stat label="Queue depth" value={formatCount(queue.depth)} hint="jobs waiting to be claimed" />
          <Stat
            label="Oldest waiting"
            value={queue.oldestWaiting ? formatAge(queue.oldestWaiting.since, now) : '—'}
            hint={
              queue.oldestWaiting ? (
                <Link to={paths.job(queue.oldestWaiting.jobId)}>job {queue.oldestWaiting.jobId.slice(0, 8)}</Link>
              ) : (
                'nothing waiting'
              )
            }
          />
          <Stat
            label="Jobs per minute"
            value={<span data-testid="jobs-per-minute">{queue.perMinute}</span>}
            hint={`${formatCount(queue.finishedInWindow)} finished in the last ${queue.windowMinutes} min`}
          />
        </dl>
      </section>

      <section className="panel" aria-labelledby="instances">
        <h2 id="instances">Live instances</h2>
        <p data-testid="app-listener" role={appListener.polling ? 'alert' : undefined}>
          Notifications to this app: {appListener.summary}
        </p>
        {workers.length === 0 ? (
          <EmptyState title="No worker has reported today">
            Start one with <code>npm start</code> (embedded) or <code>npm run worker</code>.
          </EmptyState>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">State</th>
                <th scope="col">Current job</th>
                <th scope="col" className="num">
                  Succeeded
                </th>
                <th scope="col" className="num">
                  Failed
                </th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((worker) => (
                <tr key={worker.workerId} data-testid={`worker-${worker.workerId}`}>
                  <td>
                    <code>{worker.workerId}</code>
                    <br />
                    <span className="hint">{worker.host}</span>
                  </td>
                  <td>
                    {worker.stoppedAt ? (
                      <span className="badge badge-cancelled">stopped</span>
                    ) : worker.stale ? (
                      <span className="badge badge-failed">stale</span>
                    ) : (
                      <span className="badge badge-succeeded">live</span>
                    )}
                    {worker.listener?.polling && !worker.stoppedAt ? (
                      <>
                        <br />
                        <span className="hint" data-testid="worker-listener">
                          Notifications: {worker.listener.summary}
                        </span>
                      </>
                    ) : null}
                  </td>
                  <td>
                    {worker.currentJobId ? (
                      <Link to={paths.job(worker.currentJobId)}>
                        <code>{worker.currentJobId.slice(0, 8)}</code>
                      </Link>
                    ) : (
                      'idle'
                    )}
                  </td>
                  <td className="num">{formatCount(worker.jobsSucceeded)}</td>
                  <td className="num">{formatCount(worker.jobsFailed)}</td>
                  <td>
                    <Age date={worker.lastSeenAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function ConditionBadge({ condition }: { condition: Condition }) {
  const className =
    condition.state === 'ready' ? 'badge-succeeded' : condition.state === 'failed' ? 'badge-failed' : 'badge-running';
  return <span className={`badge ${className}`}>{condition.state}</span>;
}

function ServiceStatus({ state }: { state: ServiceState }) {
  const { service } = state;
  const now = useNow();
  const shortName = service.name.split('/').pop();
  return (
    <>
      <dl className="stats">
        <Stat
          label="Service"
          value={shortName}
          hint={service.uri ? <a href={service.uri}>{service.uri}</a> : 'no URL yet'}
        />
        <Stat
          label="Ready"
          value={<ConditionBadge condition={service.ready} />}
          hint={service.reconciling ? 'a change is being rolled out' : undefined}
        />
        <Stat
          label="Latest ready revision"
          value={<code>{service.latestReadyRevision ?? 'none'}</code>}
          hint={
            service.latestCreatedRevision && service.latestCreatedRevision !== service.latestReadyRevision
              ? `latest created: ${service.latestCreatedRevision} (not ready)`
              : 'also the latest created'
          }
        />
        <Stat
          label="Instances"
          value={`${service.scaling.minInstances} – ${service.scaling.maxInstances ?? 'no limit'}`}
          hint={
            service.scaling.mode === 'manual'
              ? 'manual scaling'
              : service.revisionScaling
                ? `service-level; the revision template sets ${service.revisionScaling.minInstances} – ${service.revisionScaling.maxInstances ?? 'no limit'}`
                : 'service-level min – max'
          }
        />
        <Stat label="Concurrency" value={service.concurrency ?? 'default'} hint="requests per instance" />
        <Stat
          label="Request timeout"
          value={service.timeoutSeconds === null ? 'default' : `${service.timeoutSeconds} s`}
        />
        <Stat label="CPU / memory" value={`${service.cpu ?? '—'} / ${service.memory ?? '—'}`} hint="per instance" />
        <Stat
          label="Last changed"
          value={service.updatedAt ? formatAge(service.updatedAt, now) : '—'}
          hint={service.lastModifier ? `by ${service.lastModifier}` : undefined}
        />
      </dl>
      {service.ready.message ? (
        <p className={service.ready.state === 'ready' ? 'hint' : 'form-error'} data-testid="ready-message">
          {service.ready.message}
        </p>
      ) : null}
      <div className="traffic-tables">
        <TrafficTable caption="Traffic asked for" routes={service.traffic} />
        <TrafficTable caption="Traffic served now" routes={service.trafficStatuses} />
      </div>
    </>
  );
}

function TrafficTable({ caption, routes }: { caption: string; routes: ServiceState['service']['traffic'] }) {
  return (
    <table className="table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Revision</th>
          <th scope="col" className="num">
            Share
          </th>
          <th scope="col">Tag</th>
        </tr>
      </thead>
      <tbody>
        {routes.map((route, i) => (
          <tr key={i}>
            <td>
              {route.kind === 'latest' ? 'latest ready' : null}
              {route.kind === 'latest' && route.revision ? ' → ' : null}
              {route.revision ? <code>{route.revision}</code> : null}
            </td>
            <td className="num">{route.percent}%</td>
            <td>{route.tag ? route.uri ? <a href={route.uri}>{route.tag}</a> : route.tag : null}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Revisions({ state }: { state: ServiceState }) {
  return (
    <section className="panel" aria-labelledby="revisions">
      <h2 id="revisions">Revisions</h2>
      <div className="table-scroll">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Created</th>
              <th scope="col">Image</th>
              <th scope="col">Ready</th>
              <th scope="col" className="num">
                Traffic
              </th>
            </tr>
          </thead>
          <tbody>
            {state.revisions.map((revision) => (
              <tr key={revision.name} data-testid={`revision-${revision.name}`}>
                <td>
                  <code>{revision.name}</code>
                  {revision.tags.map((tag) => (
                    <span key={tag} className="tag">
                      {tag}
                    </span>
                  ))}
                </td>
                <td>{revision.createdAt ? <Age date={revision.createdAt} /> : '—'}</td>
                <td>
                  <code className="image">{revision.image ?? '—'}</code>
                </td>
                <td>
                  <ConditionBadge condition={revision.ready} />
                  {revision.ready.state !== 'ready' && revision.ready.message ? (
                    <span className="hint"> {revision.ready.message}</span>
                  ) : null}
                </td>
                <td className="num">{revision.trafficPercent}%</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The three changes ops can make; each form carries the etag it was drawn from. */
function Operations({ state }: { state: ServiceState }) {
  const { service } = state;
  const ready = state.revisions.filter((revision) => revision.ready.state === 'ready');
  const rollbackTargets = ready.filter((revision) => revision.trafficPercent < 100);
  return (
    <section className="panel" aria-labelledby="operate">
      <h2 id="operate">Change the service</h2>
      <p className="hint">
        Each change applies to live traffic as soon as Cloud Run has rolled it out; this page waits for that. If the
        service changed since this page was loaded, the change is refused and nothing happens.
      </p>
      <div className="worker-ops">
        <OperationForm intent="scale" etag={service.etag} title="Instances" submit="Set instances">
          <label>
            Minimum instances (kept warm, billed while idle)
            <input
              name="minInstances"
              type="number"
              min={0}
              max={1000}
              required
              defaultValue={service.scaling.minInstances}
              className="num-input"
            />
          </label>
          <label>
            Maximum instances
            <input
              name="maxInstances"
              type="number"
              min={1}
              max={1000}
              required
              defaultValue={service.scaling.maxInstances ?? ''}
              className="num-input"
            />
          </label>
        </OperationForm>

        <OperationForm intent="split" etag={service.etag} title="Traffic split" submit="Apply split">
          <table className="table">
            <caption className="hint">Whole percentages that add up to 100; leave a revision empty for 0%.</caption>
            <tbody>
              {ready.map((revision) => (
                <tr key={revision.name}>
                  <td>
                    <input type="hidden" name="revision" value={revision.name} />
                    <code>{revision.name}</code>
                  </td>
                  <td className="num">
                    <input
                      name="percent"
                      type="number"
                      min={0}
                      max={100}
                      step={1}
                      defaultValue={revision.trafficPercent || ''}
                      aria-label={`Share for ${revision.name}`}
                      className="num-input small"
                    />
                    %
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </OperationForm>

        {rollbackTargets.length === 0 ? (
          <p className="hint">No other ready revision to roll back to.</p>
        ) : (
          <OperationForm intent="rollback" etag={service.etag} title="Roll back" submit="Roll back" danger>
            <label>
              Send 100% of traffic to
              <select name="revision" required>
                {rollbackTargets.map((revision) => (
                  <option key={revision.name} value={revision.name}>
                    {revision.name} ({revision.image?.split(':').pop() ?? 'no image'})
                  </option>
                ))}
              </select>
            </label>
          </OperationForm>
        )}
      </div>
    </section>
  );
}

function OperationForm(props: {
  intent: 'scale' | 'split' | 'rollback';
  etag: string;
  title: string;
  submit: string;
  danger?: boolean;
  children: ReactNode;
}) {
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle' && navigation.formData?.get('intent') === props.intent;
  return (
    // Keyed by etag: after a change, the fields start again from the service as it now is.
    <Form method="post" className="form" key={props.etag} aria-label={props.title}>
      <h3>{props.title}</h3>
      <input type="hidden" name="intent" value={props.intent} />
      <input type="hidden" name="etag" value={props.etag} />
      {props.children}
      <label className="inline-check">
        <input type="checkbox" name="confirm" value="yes" required /> I understand this changes the live worker service
      </label>
      <button
        type="submit"
        className={props.danger ? 'button-danger' : 'button'}
        disabled={navigation.state !== 'idle'}
      >
        {busy ? 'Waiting for Cloud Run…' : props.submit}
      </button>
    </Form>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
