import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Toast } from '~/components/toast';
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from '@remix-run/react';
import { useState } from 'react';
import { z } from 'zod';

import { BatchProgress } from '~/components/batch-progress';
import { ProviderBatchTable } from '~/components/provider-batch-table';
import { formatCount, formatMicros } from '~/components/format';
import { JobsTable } from '~/components/jobs-table';
import { useLiveJobs } from '~/components/use-live-jobs';
import { describeFleetEta } from '~/domain/fleet-eta';
import { filtersToSearch } from '~/domain/job-filters';
import { can } from '~/domain/permissions';
import { paths } from '~/paths';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { presentBatchEta } from '~/server/presenters/batch-eta.server';
import { presentBatchList } from '~/server/presenters/batch-list.server';
import { presentJobList } from '~/server/presenters/job-list.server';
import { presentProviderBatches } from '~/server/presenters/provider-batches.server';
import { getRuntime } from '~/server/runtime.server';
import { cancelBatchService } from '~/server/services/job-control.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.batch.name ?? 'Batch'} · Batches · Switchyard` },
];

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const id = z.uuid().safeParse(params.batchId);
  if (!id.success) throw new Response('That is not a batch id.', { status: 404, statusText: 'Not Found' });
  const { db, env, fleet } = await getRuntime();
  const maxInstances = fleet ? await fleet.maxInstances() : env.WORKER_CONCURRENCY;
  const [[batch], page, eta, providerBatches] = await Promise.all([
    presentBatchList(db, 1, id.data),
    presentJobList(db, { batch: id.data }, 200),
    presentBatchEta(db, id.data, maxInstances),
    presentProviderBatches(db, { batchId: id.data }),
  ]);
  if (!batch) throw new Response('No batch has this id.', { status: 404, statusText: 'Not Found' });
  return json({ batch, jobs: page.jobs, more: page.nextCursor !== null, eta, providerBatches });
}

export async function action({ request, params }: ActionFunctionArgs) {
  const staff = await requirePermission(request, 'jobs.cancel');
  const form = await readForm(request);
  const id = z.uuid().safeParse(params.batchId);
  if (!id.success) return json({ ok: false, message: 'Unknown batch.' }, { status: 404 });
  if (form.get('confirm') !== 'yes')
    return json({ ok: false, message: 'Confirm to cancel the batch.' }, { status: 400 });
  const { db } = await getRuntime();
  const counts = await cancelBatchService(db, staff.email, id.data);
  if (!counts) return json({ ok: false, message: 'No batch has this id.' }, { status: 404 });
  return json({
    ok: true,
    message: `${counts.cancelled} pending job(s) cancelled; ${counts.stopping} running job(s) are being stopped.`,
  });
}

export default function BatchPage() {
  const { batch, jobs, more, eta, providerBatches } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const [armed, setArmed] = useState(false);
  useLiveJobs({
    interested: (change) =>
      change.jobs.some((job) => job.batch_id === batch.id || jobs.some((shown) => shown.id === job.id)),
  });
  const unfinished = batch.pending + batch.running;
  return (
    <>
      <header className="page-header">
        <p className="eyebrow">
          <Link to={paths.batches()}>Batches</Link>
        </p>
        <h1>{batch.name}</h1>
        <p className="lede">
          {formatCount(batch.total)} chapters by {batch.createdBy} · spent {formatMicros(batch.costMicros)} · ETA{' '}
          <span data-testid="batch-eta">{describeFleetEta(eta)}</span>
          {batch.capMicros !== null ? <> · cap {formatMicros(batch.capMicros)}</> : null}
        </p>
        {batch.paused ? (
          <p className="paused-note" data-testid="batch-paused">
            Paused at its spend cap: {batch.paused.reason} Its pending jobs wait; finance resumes it on{' '}
            <Link to={paths.costs()}>Costs</Link>.
          </p>
        ) : null}
      </header>
      <Toast result={result} />
      <section className="panel">
        <BatchProgress {...batch} />
        <p className="hint">
          {batch.succeeded} succeeded · {batch.failed} failed · {batch.cancelled} cancelled · {batch.running} running ·{' '}
          {batch.pending} pending
        </p>
        {root?.staff && can(root.staff.role, 'jobs.cancel') && unfinished > 0 ? (
          <Form method="post" className="inline-form">
            <label className="inline-check">
              <input
                type="checkbox"
                name="confirm"
                value="yes"
                checked={armed}
                onChange={(event) => setArmed(event.target.checked)}
              />{' '}
              Cancel the {unfinished} unfinished job(s)
            </label>
            <button type="submit" className="button-danger" disabled={!armed}>
              Cancel batch
            </button>
          </Form>
        ) : null}
      </section>
      <ProviderBatchTable batches={providerBatches} />
      <section className="panel">
        <JobsTable jobs={jobs} caption="Jobs of this batch" empty={<p className="hint">This batch has no jobs.</p>} />
        {more ? (
          <p>
            <Link to={`${paths.jobs()}${filtersToSearch({ batch: batch.id })}`}>All jobs of this batch →</Link>
          </p>
        ) : null}
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
