import { Link } from '@remix-run/react';

import { Age } from '~/components/clock';
import { EmptyState } from '~/components/empty-state';
import { formatCount } from '~/components/format';
import { paths } from '~/paths';

import type { PageData } from './types';

export function LiveInstances({ workers, appListener }: Pick<PageData, 'workers' | 'appListener'>) {
  return (
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
  );
}
