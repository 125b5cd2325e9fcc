import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Toast } from '~/components/toast';
import { Form, useActionData, useLoaderData, useRouteLoaderData } from '@remix-run/react';
import { z } from 'zod';

import { ChartPanel } from '~/components/chart-panel';
import { SpendControlPanel } from '~/components/spend-control-panel';
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
import { maxCostUsd } from '~/domain/submit-schemas';
import { presentSpendControls } from '~/server/presenters/spend-controls.server';
import { setMonthlyBudget } from '~/server/services/budget.server';
import { changeBatchCap, resumeBatchSpending, resumeMonthlyBudget } from '~/server/services/spend-control.server';

export const meta: MetaFunction = () => [{ title: 'Costs · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.view');
  const { db } = await getRuntime();
  const range = await parseRange(db, readSearchParams(request));
  const [costs, spend] = await Promise.all([presentCosts(db, range), presentSpendControls(db)]);
  return json({ costs, spend });
}

const BudgetSchema = z.object({
  amount: z.coerce.number({ message: 'Enter an amount in dollars.' }).min(0, 'Enter 0 or more.').max(10_000_000),
});

const BatchIdSchema = z.uuid({ message: 'must be a batch id' });

type ActionResult = { ok: boolean; message: string; fields?: Record<string, string[]> };

export async function action({ request }: ActionFunctionArgs) {
  const staff = await requirePermission(request, 'budgets.edit');
  const form = await readForm(request);
  const runtime = await getRuntime();
  const { db } = runtime;
  const intent = String(form.get('intent') ?? 'budget');
  const refused = (field: string, message: string) =>
    json<ActionResult>({ ok: false, message, fields: { [field]: [message] } }, { status: 400 });

  if (intent === 'resume-budget') {
    const result = await resumeMonthlyBudget(db, staff.email);
    // Jobs that waited are claimable again: nudge a worker rather than wait for the sweeper.
    if (result.kind === 'resumed') runtime.wakeWorker();
    return json<ActionResult>(
      result.kind === 'resumed'
        ? { ok: true, message: 'Claims of every priority run again this month.' }
        : { ok: true, message: result.kind === 'not_paused' ? result.message : 'Nothing changed.' },
    );
  }
  if (intent === 'resume-batch' || intent === 'cap') {
    const batchId = BatchIdSchema.safeParse(String(form.get('batch_id') ?? ''));
    if (!batchId.success) return refused('batch_id', 'batch_id must be a batch id.');
    if (intent === 'resume-batch') {
      const result = await resumeBatchSpending(db, staff.email, batchId.data);
      if (result.kind === 'resumed') runtime.wakeWorker();
      if (result.kind === 'not_found')
        return json<ActionResult>({ ok: false, message: 'No such batch.' }, { status: 404 });
      return json<ActionResult>({
        ok: true,
        message: result.kind === 'resumed' ? 'The batch runs again, without a cap.' : result.message,
      });
    }
    const cap = maxCostUsd.safeParse(Number(String(form.get('max_cost_usd') ?? '').trim() || Number.NaN));
    if (!cap.success) return refused('max_cost_usd', `max_cost_usd ${cap.error.issues[0].message}.`);
    const micros = Math.round(cap.data * 1_000_000);
    const result = await changeBatchCap(db, staff.email, batchId.data, micros);
    if (result.kind === 'not_found')
      return json<ActionResult>({ ok: false, message: 'No such batch.' }, { status: 404 });
    return json<ActionResult>({
      ok: true,
      message: result.paused
        ? `The cap is now ${formatMicros(micros)}; the batch stays paused: its next job still does not fit.`
        : `The cap is now ${formatMicros(micros)}; the batch runs.`,
    });
  }
  const parsed = BudgetSchema.safeParse({ amount: form.get('amount') });
  if (!parsed.success)
    return json<ActionResult>({ ok: false, message: parsed.error.issues[0].message }, { status: 400 });
  const micros = Math.round(parsed.data.amount * 1_000_000);
  await setMonthlyBudget(db, staff.email, micros);
  return json<ActionResult>({ ok: true, message: `This month's budget is now ${formatMicros(micros)}.` });
}

export default function CostsPage() {
  const { costs, spend } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const charts = costCharts(costs);
  // Today's buckets are computed from the jobs: a job finishing moves the chart.
  const live = rangeIncludesToday(costs.range, new Date(costs.now));
  useLiveJobs({
    interested: (change) =>
      live && change.event === 'status' && change.jobs.some((job) => isJobStatus(job.status) && isFinal(job.status)),
  });
  // The charts count attempts (the ledger), not finished jobs: a job waiting for its retry has spent.
  const zeroNote = `The ${costs.attempts} attempts in this range cost $0 (offline jobs cost nothing).`;
  const common = { jobs: costs.attempts, unit: costs.unit, zeroNote };
  const csv = (id: string) => `/costs/csv?chart=${id}&from=${costs.range.from}&to=${costs.range.to}`;
  const { month } = costs;
  const over = month.budgetMicros !== null && month.projectedMicros > month.budgetMicros;
  return (
    <>
      <header className="page-header">
        <h1>Costs</h1>
        <p className="lede">
          What generation cost, by the {costs.unit} (UTC) each attempt started, from the attempt ledger: a retried job
          counts every attempt once, on its own day. Red markers are routing config changes.
        </p>
        <DemoHistoryNote demo={costs.demo} />
        {costs.unpricedAttempts > 0 ? (
          <p className="paused-note" data-testid="unpriced-note">
            {costs.unpricedAttempts} attempt(s) in this range used a model with no price: their tokens are recorded,
            their cost is unknown and not in these totals (see Cost by model).
          </p>
        ) : null}
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
      <SpendControlPanel spend={spend} mayAct={Boolean(root?.staff && can(root.staff.role, 'budgets.edit'))} />
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
        zeroNote={`None of the ${costs.attempts} attempts in this range cost anything or succeeded.`}
      />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
