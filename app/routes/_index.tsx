import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';

import { formatAge, formatCount, formatMicros, formatPercent } from '~/components/format';
import { Stat } from '~/components/stat';
import { paths } from '~/paths';
import { presentOverview } from '~/server/presenters/overview.server';
import { requirePermission } from '~/server/auth/auth.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Overview · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db } = await getRuntime();
  return json({ overview: await presentOverview(db) });
}

export default function OverviewPage() {
  const { overview } = useLoaderData<typeof loader>();
  const { jobsByStatus } = overview;
  return (
    <>
      <header className="page-header">
        <h1>Overview</h1>
        <p className="lede">Chapter generation across the edge and cloud paths, from the jobs table.</p>
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
            hint={overview.oldestPendingAt ? `oldest ${formatAge(overview.oldestPendingAt)}` : 'nothing waiting'}
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
