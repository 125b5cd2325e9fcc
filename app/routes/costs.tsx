import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Toast } from '~/components/toast';
import { Form, useActionData, useLoaderData, useRouteLoaderData } from '@remix-run/react';
import { z } from 'zod';

import { ChartPanel } from '~/components/chart-panel';
import { DemoHistoryNote, RangeForm, rangeIncludesToday } from '~/components/range-form';
import { useLiveJobs } from '~/components/use-live-jobs';
import { formatMicros } from '~/components/format';
import { costCharts } from '~/domain/chart-data';
import { isFinal, isJobStatus } from '~/domain/job-status';
import { can } from '~/domain/permissions';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm, readSearchParams } from '~/server/http.server';
import { parseRange } from '~/server/presenters/range.server';
import { presentCosts } from '~/server/presenters/analytics.server';
import { getRuntime } from '~/server/runtime.server';
import { setMonthlyBudget } from '~/server/services/budget.server';

export const meta: MetaFunction = () => [{ title: 'Costs · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.view');
  const { db } = await getRuntime();
  const range = await parseRange(db, readSearchParams(request));
  return json({ costs: await presentCosts(db, range) });
}

const BudgetSchema = z.object({
  amount: z.coerce.number({ message: 'Enter an amount in dollars.' }).min(0, 'Enter 0 or more.').max(10_000_000),
});

export async function action({ request }: ActionFunctionArgs) {
  const staff = await requirePermission(request, 'budgets.edit');
  const parsed = BudgetSchema.safeParse({ amount: (await readForm(request)).get('amount') });
  if (!parsed.success) return json({ ok: false, message: parsed.error.issues[0].message }, { status: 400 });
  const { db } = await getRuntime();
  const micros = Math.round(parsed.data.amount * 1_000_000);
  await setMonthlyBudget(db, staff.email, micros);
  return json({ ok: true, message: `This month's budget is now ${formatMicros(micros)}.` });
}

export default function CostsPage() {
  const { costs } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const charts = costCharts(costs);
  // Today's buckets are computed from the jobs: a job finishing moves the chart.
  const live = rangeIncludesToday(costs.range, new Date(costs.now));
  useLiveJobs({
    interested: (change) =>
      live && change.event === 'status' && change.jobs.some((job) => isJobStatus(job.status) && isFinal(job.status)),
  });
  const zeroNote = `The ${costs.jobsFinished} jobs finished in this range cost $0 (offline jobs cost nothing).`;
  const common = { jobs: costs.jobsFinished, unit: costs.unit, zeroNote };
  const csv = (id: string) => `/costs/csv?chart=${id}&from=${costs.range.from}&to=${costs.range.to}`;
  const { month } = costs;
  const over = month.budgetMicros !== null && month.projectedMicros > month.budgetMicros;
  return (
    <>
      <header className="page-header">
        <h1>Costs</h1>
        <p className="lede">
          What generation cost, by {costs.unit} finished (UTC), summed from the jobs. Red markers are routing config
          changes.
        </p>
        <DemoHistoryNote demo={costs.demo} />
      </header>
      <Toast result={result} />
      <section className="panel" aria-labelledby="month">
        <h2 id="month">This month</h2>
        <dl className="stats">
          <div className="stat">
            <dt>Spent so far</dt>
            <dd>
              <span className="stat-value" data-testid="month-to-date">
                {formatMicros(month.spentMicros)}
              </span>
            </dd>
          </div>
          <div className="stat">
            <dt>Projected for the month</dt>
            <dd>
              <span className={`stat-value${over ? ' over-budget' : ''}`}>{formatMicros(month.projectedMicros)}</span>
              {over ? <span className="stat-hint">above the budget</span> : null}
            </dd>
          </div>
          <div className="stat">
            <dt>Budget</dt>
            <dd>
              <span className="stat-value">
                {month.budgetMicros === null ? 'not set' : formatMicros(month.budgetMicros)}
              </span>
              {month.budgetMicros ? (
                <span className="stat-hint">{((month.spentMicros / month.budgetMicros) * 100).toFixed(1)}% used</span>
              ) : null}
            </dd>
          </div>
          <div className="stat">
            <dt>In the range below</dt>
            <dd>
              <span className="stat-value" data-testid="range-total">
                {formatMicros(costs.totalMicros)}
              </span>
            </dd>
          </div>
        </dl>
        {root?.staff && can(root.staff.role, 'budgets.edit') ? (
          <Form method="post" className="inline-form budget-form">
            <label>
              Monthly budget (USD){' '}
              <input
                name="amount"
                type="number"
                min={0}
                step="0.01"
                defaultValue={month.budgetMicros === null ? '' : month.budgetMicros / 1_000_000}
                required
              />
            </label>
            <button type="submit" className="button-quiet">
              Set budget
            </button>
          </Form>
        ) : null}
      </section>
      <RangeForm range={costs.range} now={costs.now} />
      <ChartPanel {...common} chart={charts[0]} kind="stacked-bar" csvHref={csv('daily')} markers={costs.markers} />
      <div className="grid-2">
        <ChartPanel
          {...common}
          chart={charts[1]}
          kind="stacked-bar"
          csvHref={csv('destination')}
          markers={costs.markers}
        />
        <ChartPanel {...common} chart={charts[2]} kind="bar" xKey="model" series={['total']} csvHref={csv('model')} />
      </div>
      <ChartPanel
        {...common}
        chart={charts[3]}
        kind="line"
        series={['perChapter']}
        csvHref={csv('per-chapter')}
        markers={costs.markers}
        zeroNote={`None of the ${costs.jobsFinished} jobs finished in this range cost anything or succeeded.`}
      />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
