import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';

import { useNow } from '~/components/clock';
import { ChartPanel } from '~/components/chart-panel';
import { RouteLatencyTable } from '~/components/route-latency-table';
import { DemoHistoryNote, RangeForm, rangeIncludesToday } from '~/components/range-form';
import { useLiveJobs } from '~/components/use-live-jobs';
import { formatAge, formatCount } from '~/components/format';
import { latencyCharts } from '~/domain/chart-data';
import { isFinal, isJobStatus } from '~/domain/job-status';
import { requirePermission } from '~/server/auth/auth.server';
import { readSearchParams } from '~/server/http.server';
import { presentLatency } from '~/server/presenters/analytics.server';
import { parseRange } from '~/server/presenters/range.server';
import { presentRouteLatency } from '~/server/presenters/route-latency.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Latency · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.view');
  const { db } = await getRuntime();
  const range = await parseRange(db, readSearchParams(request));
  const [latency, routes] = await Promise.all([presentLatency(db, range), presentRouteLatency(db, range)]);
  return json({ latency, routes });
}

export default function LatencyPage() {
  const { latency, routes } = useLoaderData<typeof loader>();
  const now = useNow();
  const charts = latencyCharts(latency);
  // Today's buckets are computed from the jobs: a job finishing moves the charts.
  const live = rangeIncludesToday(latency.range, new Date(latency.now));
  useLiveJobs({
    interested: (change) =>
      live && change.event === 'status' && change.jobs.some((job) => isJobStatus(job.status) && isFinal(job.status)),
  });
  const common = {
    jobs: latency.jobsFinished,
    unit: latency.unit,
    markers: latency.markers,
    zeroNote: `None of the ${latency.jobsFinished} jobs finished in this range succeeded; percentiles count succeeded jobs.`,
  };
  const csv = (id: string) => `/costs/csv?chart=${id}&from=${latency.range.from}&to=${latency.range.to}`;
  return (
    <>
      <header className="page-header">
        <h1>Latency</h1>
        <p className="lede">
          Edge against cloud, per {latency.unit} finished (UTC). Percentiles are bucket upper bounds; red markers are
          routing config changes.
        </p>
        <DemoHistoryNote demo={latency.demo} />
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
      <RangeForm range={latency.range} now={latency.now} />
      <ChartPanel {...common} chart={charts[0]} kind="line" csvHref={csv('e2e')} />
      <div className="grid-2">
        <ChartPanel {...common} chart={charts[1]} kind="line" csvHref={csv('ttft')} />
        <ChartPanel
          {...common}
          chart={charts[2]}
          kind="line"
          csvHref={csv('queue')}
          zeroNote="Every job in this range was picked up at once or never started."
        />
      </div>
      <ChartPanel {...common} chart={charts[3]} kind="bar" series={['finished']} csvHref={csv('throughput')} />
      <RouteLatencyTable rows={routes} />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
