import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';

import { EmptyState } from '~/components/empty-state';
import { formatAge, formatCount, formatMicros } from '~/components/format';
import { presentBatchList } from '~/server/presenters/batch-list.server';
import { requirePermission } from '~/server/auth/auth.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Batches · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db } = await getRuntime();
  return json({ batches: await presentBatchList(db) });
}

export default function BatchesPage() {
  const { batches } = useLoaderData<typeof loader>();
  return (
    <>
      <header className="page-header">
        <h1>Batches</h1>
        <p className="lede">Chapters queued together, with how far each batch has come.</p>
      </header>
      <section className="panel">
        {batches.length === 0 ? (
          <EmptyState title="No batches yet">
            A batch appears here once chapters are queued together through <code>POST /api/content/batch-generate</code>
            .
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
                <th scope="col">Submitted</th>
              </tr>
            </thead>
            <tbody>
              {batches.map((batch) => (
                <tr key={batch.id}>
                  <td>{batch.name}</td>
                  <td>
                    <BatchProgress {...batch} />
                  </td>
                  <td className="num">{formatCount(batch.succeeded)}</td>
                  <td className="num">{formatCount(batch.failed)}</td>
                  <td className="num">{formatCount(batch.running)}</td>
                  <td className="num">{formatCount(batch.pending)}</td>
                  <td className="num">{formatMicros(batch.costMicros)}</td>
                  <td>
                    {batch.createdBy}, <time dateTime={batch.createdAt}>{formatAge(batch.createdAt)}</time>
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

function BatchProgress(batch: {
  total: number;
  succeeded: number;
  failed: number;
  running: number;
  cancelled: number;
}) {
  const done = batch.succeeded + batch.failed + batch.cancelled;
  const share = (n: number) => `${batch.total === 0 ? 0 : (n / batch.total) * 100}%`;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={batch.total}
      aria-valuenow={done}
      aria-label={`${done} of ${batch.total} finished`}
    >
      <span className="progress-succeeded" style={{ width: share(batch.succeeded) }} />
      <span className="progress-failed" style={{ width: share(batch.failed + batch.cancelled) }} />
      <span className="progress-running" style={{ width: share(batch.running) }} />
    </div>
  );
}
