import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';

import { useNow } from '~/components/clock';
import { ChartPanel } from '~/components/chart-panel';
import { RangeForm } from '~/components/range-form';
import { formatAge, formatCount } from '~/components/format';
import { latencyCharts } from '~/domain/chart-data';
import { requirePermission } from '~/server/auth/auth.server';
import { presentLatency } from '~/server/presenters/analytics.server';
import { parseRange } from '~/server/presenters/range.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Latency · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.view');
  const { db } = await getRuntime();
  return json({ latency: await presentLatency(db, parseRange(new URL(request.url).searchParams)) });
}

export default function LatencyPage() {
  const { latency } = useLoaderData<typeof loader>();
  const now = useNow();
  const charts = latencyCharts(latency);
  const csv = (id: string) => `/costs/csv?chart=${id}&from=${latency.range.from}&to=${latency.range.to}`;
  return (
    <>
      <header className="page-header">
        <h1>Latency</h1>
        <p className="lede">
          Edge against cloud, per day finished (UTC). Percentiles are bucket upper bounds; red markers are routing
          config changes.
        </p>
      </header>
      <section className="panel">
        <dl className="stats">
          <div className="stat">
            <dt>Queue depth now</dt>
            <dd>
              <span className="stat-value">{formatCount(latency.queue.depth)}</span>
              <span className="stat-hint">
                {latency.queue.oldest ? `oldest waiting ${formatAge(latency.queue.oldest, now)}` : 'nothing waiting'}
              </span>
            </dd>
          </div>
        </dl>
      </section>
      <RangeForm range={latency.range} />
      <ChartPanel chart={charts[0]} kind="line" csvHref={csv('e2e')} markers={latency.markers} />
      <div className="grid-2">
        <ChartPanel chart={charts[1]} kind="line" csvHref={csv('ttft')} markers={latency.markers} />
        <ChartPanel chart={charts[2]} kind="line" csvHref={csv('queue')} markers={latency.markers} />
      </div>
      <ChartPanel
        chart={charts[3]}
        kind="bar"
        series={['finished']}
        csvHref={csv('throughput')}
        markers={latency.markers}
      />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
