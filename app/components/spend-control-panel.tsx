import { Form, Link } from '@remix-run/react';

import { Age } from './clock';
import { formatMicros } from './format';
import { paths } from '~/paths';

interface BatchSpend {
  id: string;
  name: string;
  jobs: number;
  capMicros: number | null;
  estimateMicros: number | null;
  actualMicros: number;
  unpricedAttempts: number;
  overshootMicros: number;
  pausedAt: string | null;
  pausedReason: string | null;
  pending: number;
}

export interface SpendControlView {
  batches: BatchSpend[];
  budgetPaused: boolean;
  budgetResumed: { at: string; by: string | null } | null;
  resumes: { actor: string; action: string; batchId: string | null; at: string }[];
}

const ACTION_LABELS: Record<string, string> = {
  'batch.resume': 'resumed a batch (cap lifted)',
  'batch.cap': 'changed a batch cap',
  'budget.resume': 'resumed claims past the monthly budget',
};

/**
 * The Costs page's spend control: the monthly budget's pause, batches paused at their cap with
 * one-click resume (finance and admin), each batch's estimate against what its attempts cost,
 * and who resumed what.
 */
export function SpendControlPanel({ spend, mayAct }: { spend: SpendControlView; mayAct: boolean }) {
  return (
    <section className="panel" aria-labelledby="spend-control">
      <h2 id="spend-control">Spend control</h2>
      {spend.budgetPaused ? (
        <div className="paused-note" data-testid="budget-paused">
          <p>
            The monthly budget is reached: jobs that are not high priority wait. Raise the budget above, or let them run
            anyway.
          </p>
          {mayAct ? (
            <Form method="post">
              <input type="hidden" name="intent" value="resume-budget" />
              <button type="submit" className="button">
                Resume claims this month
              </button>
            </Form>
          ) : null}
        </div>
      ) : spend.budgetResumed ? (
        <p className="hint">
          Claims past the budget were resumed by {spend.budgetResumed.by} <Age date={spend.budgetResumed.at} />.
        </p>
      ) : null}
      {spend.batches.length === 0 ? (
        <p className="hint">No batch in the last 30 days.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <caption className="visually-hidden">Batches: estimate, cap and actual cost</caption>
            <thead>
              <tr>
                <th scope="col">Batch</th>
                <th scope="col" className="num">
                  Estimate
                </th>
                <th scope="col" className="num">
                  Cap
                </th>
                <th scope="col" className="num">
                  Actual
                </th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {spend.batches.map((batch) => (
                <tr key={batch.id} data-testid={`batch-spend-${batch.id}`}>
                  <td>
                    <Link to={paths.batch(batch.id)}>{batch.name}</Link>
                    <span className="hint"> · {batch.jobs} jobs</span>
                  </td>
                  <td className="num">{batch.estimateMicros === null ? '—' : formatMicros(batch.estimateMicros)}</td>
                  <td className="num">{batch.capMicros === null ? 'none' : formatMicros(batch.capMicros)}</td>
                  <td className="num">
                    {formatMicros(batch.actualMicros)}
                    {batch.unpricedAttempts > 0 ? (
                      <span className="hint"> + {batch.unpricedAttempts} unpriced attempt(s)</span>
                    ) : null}
                    {batch.overshootMicros > 0 ? (
                      <span className="hint over-budget"> ({formatMicros(batch.overshootMicros)} over the cap)</span>
                    ) : null}
                  </td>
                  <td>
                    {batch.pausedAt ? (
                      <>
                        <strong className="over-budget">Paused</strong> <Age date={batch.pausedAt} />:{' '}
                        {batch.pausedReason} {batch.pending} job(s) wait.
                        {mayAct ? (
                          <span className="spend-actions">
                            <Form method="post">
                              <input type="hidden" name="intent" value="resume-batch" />
                              <input type="hidden" name="batch_id" value={batch.id} />
                              <button type="submit" className="button" aria-label={`Resume ${batch.name}`}>
                                Resume
                              </button>
                            </Form>
                            <Form method="post" className="inline-form">
                              <input type="hidden" name="intent" value="cap" />
                              <input type="hidden" name="batch_id" value={batch.id} />
                              <label>
                                New cap (USD){' '}
                                <input name="max_cost_usd" type="number" min={0.01} step="0.01" required size={8} />
                              </label>
                              <button type="submit" className="button-quiet">
                                Raise cap
                              </button>
                            </Form>
                          </span>
                        ) : null}
                      </>
                    ) : (
                      'Runs'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {spend.resumes.length > 0 ? (
        <>
          <h3>Who resumed what</h3>
          <ul className="plain-list" data-testid="resumes">
            {spend.resumes.map((entry, index) => (
              <li key={index}>
                {entry.actor} {ACTION_LABELS[entry.action] ?? entry.action}
                {entry.batchId ? (
                  <>
                    {' '}
                    (<Link to={paths.batch(entry.batchId)}>batch</Link>)
                  </>
                ) : null}{' '}
                <Age date={entry.at} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
