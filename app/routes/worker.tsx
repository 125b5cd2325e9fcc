import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';

import { EmptyState } from '~/components/empty-state';
import { formatAge, formatCount } from '~/components/format';
import { presentWorkers } from '~/server/presenters/workers.server';
import { requirePermission } from '~/server/auth/auth.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Worker · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db, env } = await getRuntime();
  return json({ workers: await presentWorkers(db, env.WORKER_LEASE_SECONDS) });
}

export default function WorkerPage() {
  const { workers } = useLoaderData<typeof loader>();
  return (
    <>
      <header className="page-header">
        <h1>Worker</h1>
        <p className="lede">Worker instances that claim jobs from the queue, as they report themselves.</p>
      </header>
      <section className="panel" aria-labelledby="cloud-run">
        <h2 id="cloud-run">Cloud Run service</h2>
        <p>
          Reading and steering the Cloud Run service (revisions, traffic, scaling) is not built yet. Live instances
          below come from the database and work everywhere.
        </p>
      </section>
      <section className="panel" aria-labelledby="instances">
        <h2 id="instances">Live instances</h2>
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
                <tr key={worker.workerId}>
                  <td>
                    <code>{worker.workerId}</code>
                  </td>
                  <td>
                    {worker.stoppedAt ? (
                      <span className="badge badge-cancelled">stopped</span>
                    ) : worker.stale ? (
                      <span className="badge badge-failed">stale</span>
                    ) : (
                      <span className="badge badge-succeeded">live</span>
                    )}
                  </td>
                  <td>{worker.currentJobId ? <code>{worker.currentJobId.slice(0, 8)}</code> : 'idle'}</td>
                  <td className="num">{formatCount(worker.jobsSucceeded)}</td>
                  <td className="num">{formatCount(worker.jobsFailed)}</td>
                  <td>
                    <time dateTime={worker.lastSeenAt}>{formatAge(worker.lastSeenAt)}</time>
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
