import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useLoaderData, useRouteLoaderData } from '@remix-run/react';

import { Age, useNow } from '~/components/clock';
import { BatchProgress, formatEta } from '~/components/batch-progress';
import { EmptyState } from '~/components/empty-state';
import { formatCount, formatMicros } from '~/components/format';
import { useLiveJobs } from '~/components/use-live-jobs';
import { can } from '~/domain/permissions';
import { paths } from '~/paths';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { presentBatchList } from '~/server/presenters/batch-list.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Batches · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db } = await getRuntime();
  return json({ batches: await presentBatchList(db) });
}

export default function BatchesPage() {
  const { batches } = useLoaderData<typeof loader>();
  const now = useNow();
  const role = useRouteLoaderData<typeof rootLoader>('root')?.staff?.role;
  // Finance may look at batches but not queue them: no link to a page that would refuse them.
  const maySubmit = role ? can(role, 'jobs.submit') : false;
  useLiveJobs({ interested: (change) => change.event === 'status' && change.jobs.some((job) => job.batch_id) });
  return (
    <>
      <header className="page-header">
        <h1>Batches</h1>
        <p className="lede">
          Chapters queued together, with how far each batch has come.{' '}
          {maySubmit ? <Link to={paths.submit()}>Queue a batch →</Link> : null}
        </p>
      </header>
      <section className="panel">
        {batches.length === 0 ? (
          <EmptyState title="No batches yet">
            {maySubmit ? (
              <>
                <Link to={paths.submit()}>Queue a batch of chapters</Link>, or call{' '}
              </>
            ) : (
              'A program can queue one with '
            )}
            <code>POST /api/content/batch-generate</code>.
          </EmptyState>
        ) : (
          <table className="table">
            <caption className="visually-hidden">Newest batches</caption>
            <thead>
              <tr>
                <th scope="col">Batch</th>
                <th scope="col">Progress</th>
                <th scope="col" className="num">
                  Succeeded
                </th>
                <th scope="col" className="num">
                  Failed
                </th>
                <th scope="col" className="num">
                  Running
                </th>
                <th scope="col" className="num">
                  Pending
                </th>
                <th scope="col" className="num">
                  Spend
                </th>
                <th scope="col">ETA</th>
                <th scope="col">Submitted</th>
              </tr>
            </thead>
            <tbody>
              {batches.map((batch) => (
                <tr key={batch.id}>
                  <td>
                    <Link to={paths.batch(batch.id)}>{batch.name}</Link>
                  </td>
                  <td>
                    <BatchProgress {...batch} />
                  </td>
                  <td className="num">{formatCount(batch.succeeded)}</td>
                  <td className="num">{formatCount(batch.failed + batch.cancelled)}</td>
                  <td className="num">{formatCount(batch.running)}</td>
                  <td className="num">{formatCount(batch.pending)}</td>
                  <td className="num">{formatMicros(batch.costMicros)}</td>
                  <td>{formatEta(batch, now) ?? '—'}</td>
                  <td>
                    {batch.createdBy}, <Age date={batch.createdAt} />
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

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
