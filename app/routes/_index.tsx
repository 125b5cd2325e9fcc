import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';

import { useNow } from '~/components/clock';
import { formatAge, formatCount, formatMicros, formatPercent } from '~/components/format';
import { DemoHistoryNote } from '~/components/range-form';
import { Stat } from '~/components/stat';
import { useLiveJobs } from '~/components/use-live-jobs';
import { paths } from '~/paths';
import { histogramPercentile, mergeHistograms } from '~/domain/latency';
import { hasDemoHistory } from '~/server/db/demo.server';
import { loadRollups } from '~/server/presenters/analytics.server';
import { presentOverview } from '~/server/presenters/overview.server';
import { activeRoutingConfig } from '~/server/routing-config.server';
import { requirePermission } from '~/server/auth/auth.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Overview · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const runtime = await getRuntime();
  const today = new Date().toISOString().slice(0, 10);
  const [overview, routing, rollups, demo] = await Promise.all([
    presentOverview(runtime.db),
    activeRoutingConfig(runtime),
    loadRollups(runtime.db, { from: today, to: today }),
    hasDemoHistory(runtime.db),
  ]);
  return json({
    overview,
    demo,
    p95Ms: histogramPercentile(mergeHistograms(rollups.map((row) => row.e2e_hist)), 95),
    routing: {
      version: routing.version,
      hybridEnabled: routing.config.hybridEnabled,
      canaryPercent: routing.config.canaryPercent,
    },
  });
}

export default function OverviewPage() {
  const { overview, p95Ms, routing, demo } = useLoaderData<typeof loader>();
  const now = useNow();
  useLiveJobs({ interested: (change) => change.event === 'status' });
  const { jobsByStatus } = overview;
  return (
    <>
      <header className="page-header">
        <h1>Overview</h1>
        <p className="lede">Chapter generation across the edge and cloud paths, from the jobs table.</p>
        <DemoHistoryNote demo={demo} />
      </header>
      <section className="panel" aria-labelledby="today">
        <h2 id="today">Today (UTC)</h2>
        <dl className="stats">
          <Stat label="Jobs submitted" value={formatCount(overview.jobsToday)} />
          <Stat label="Running now" value={formatCount(jobsByStatus.running)} />
          <Stat
            label="Success rate"
            value={formatPercent(overview.succeededToday, overview.finishedToday)}
            hint={`${formatCount(overview.succeededToday)} of ${formatCount(overview.finishedToday)} finished`}
          />
          <Stat
            label="Queue depth"
            value={formatCount(overview.queueDepth)}
            hint={overview.oldestPendingAt ? `oldest ${formatAge(overview.oldestPendingAt, now)}` : 'nothing waiting'}
          />
          <Stat
            label="p95 end to end"
            value={p95Ms === null ? '—' : p95Ms < 1000 ? `≤ ${p95Ms} ms` : `≤ ${p95Ms / 1000} s`}
            hint="succeeded jobs finished today"
          />
          <Stat
            label="Routing"
            value={routing.hybridEnabled ? `${routing.canaryPercent}% cloud` : 'kill switch on'}
            hint={`${routing.hybridEnabled ? 'canary' : 'all generation at the edge'} · config ${routing.version ? `v${routing.version}` : 'defaults'}`}
          />
          <Stat
            label="Cost this month"
            value={formatMicros(overview.monthToDateCostMicros)}
            hint={
              overview.offlineJobs > 0 ? `${formatCount(overview.offlineJobs)} offline jobs cost nothing` : undefined
            }
          />
        </dl>
      </section>
      <section className="panel" aria-labelledby="by-status">
        <h2 id="by-status">All jobs by status</h2>
        <dl className="stats">
          {Object.entries(jobsByStatus).map(([status, count]) => (
            <Stat key={status} label={status} value={formatCount(count)} />
          ))}
        </dl>
        <p>
          <Link to={paths.jobs()}>See the jobs →</Link>
        </p>
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
