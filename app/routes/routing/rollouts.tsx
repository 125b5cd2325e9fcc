import { Form } from '@remix-run/react';
import { useState } from 'react';

import { Age, useNow } from '~/components/clock';
import { METRICS, METRIC_LABELS, type Metric } from '~/domain/rollout';
import type { MetricCheck, Verdict } from '~/domain/rollout-analysis';

import { RolloutTrends } from './rollout-trends';
import type { RoutingPageData } from './route';

type RolloutView = RoutingPageData['rollouts'][number];

const round = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : String(Math.round(value * 100) / 100);

function nextDecision(at: string, now: Date): string {
  const seconds = Math.round((new Date(at).getTime() - now.getTime()) / 1000);
  if (seconds <= 0) return 'at the next sweep';
  return seconds < 120 ? `in ${seconds} s` : `in ${Math.round(seconds / 60)} min`;
}

function Checks({ analysis }: { analysis: RolloutView['lastAnalysis'] }) {
  const verdict = (analysis as { verdict?: Verdict } | null)?.verdict;
  if (!verdict) return <p className="hint">No analysis yet.</p>;
  if (verdict.kind === 'wait') return <p className="hint">Last analysis waited: {verdict.reason}</p>;
  return (
    <div className="table-scroll">
      <table className="rollout-checks">
        <caption>Last analysis: {verdict.kind === 'pass' ? 'passed' : 'failed'}</caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col">Threshold</th>
            <th scope="col">Baseline</th>
            <th scope="col">Candidate</th>
            <th scope="col">Limit</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {verdict.checks.map((check: MetricCheck) => (
            <tr key={check.metric}>
              <th scope="row">{METRIC_LABELS[check.metric]}</th>
              <td>{check.kind === 'relative' ? `≤ ${check.limit} % worse` : `${check.limit}`}</td>
              <td>{round(check.baseline)}</td>
              <td>{round(check.candidate)}</td>
              <td>{round(check.bound)}</td>
              <td>{check.passed === null ? 'no data' : check.passed ? 'pass' : 'FAIL'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function variantText(variant: RolloutView['baseline']) {
  return `${variant.model}, ${variant.maxTokens} tokens, ${variant.destination}`;
}

function LiveRollout({ rollout, mayPublish }: { rollout: RolloutView; mayPublish: boolean }) {
  const now = useNow();
  const [armed, setArmed] = useState(false);
  const paused = rollout.state === 'paused';
  return (
    <article className="rollout" aria-label={`Rollout on rule ${rollout.ruleId}`}>
      <h3>
        Rule {rollout.ruleId}: <span className="rollout-weight">{rollout.weight} %</span> on the candidate
      </h3>
      <dl className="rollout-facts">
        <dt>Baseline</dt>
        <dd>{variantText(rollout.baseline)}</dd>
        <dt>Candidate</dt>
        <dd>{variantText(rollout.candidate)}</dd>
        <dt>Step</dt>
        <dd className="rollout-step">
          {rollout.stepIndex + 1} of {rollout.plan.steps.length} ({rollout.plan.steps.join(' → ')} %)
        </dd>
        <dt>Next decision</dt>
        <dd>
          {rollout.state === 'paused' ? 'paused' : nextDecision(rollout.nextAnalysisAt, now)}, every{' '}
          {rollout.plan.intervalSeconds} s with at least {rollout.plan.minSample} finished jobs per side
        </dd>
        <dt>Failed analyses</dt>
        <dd>
          {rollout.failures} of {rollout.plan.maxFailures} allowed in this step
        </dd>
      </dl>
      <Checks analysis={rollout.lastAnalysis} />
      <RolloutTrends rollout={rollout} />
      {mayPublish ? (
        <Form method="post" className="inline-form">
          <input type="hidden" name="intent" value="rollout-control" />
          <input type="hidden" name="rolloutId" value={rollout.id} />
          <label className="inline-check">
            <input
              type="checkbox"
              name="confirm"
              value="yes"
              checked={armed}
              onChange={(event) => setArmed(event.target.checked)}
            />{' '}
            I understand this changes the rule&apos;s traffic now
          </label>
          <button type="submit" name="control" value={paused ? 'resume' : 'pause'} className="button" disabled={!armed}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button type="submit" name="control" value="promote" className="button" disabled={!armed}>
            Promote now
          </button>
          <button type="submit" name="control" value="abort" className="button-danger" disabled={!armed}>
            Abort the rollout
          </button>
        </Form>
      ) : null}
    </article>
  );
}

function StartRollout({ ruleIds, fields }: { ruleIds: string[]; fields: Record<string, string[]> }) {
  const fieldList = Object.entries(fields);
  return (
    <details className="rollout-start">
      <summary>Start a rollout</summary>
      <Form method="post" className="rollout-form">
        <input type="hidden" name="intent" value="rollout-start" />
        {fieldList.length > 0 ? (
          <ul className="form-error" aria-label="Rollout not started">
            {fieldList.map(([field, messages]) => (
              <li key={field}>
                {field}: {messages.join(', ')}
              </li>
            ))}
          </ul>
        ) : null}
        <label>
          Rule{' '}
          <select name="ruleId" defaultValue={ruleIds[0]}>
            {ruleIds.map((id) => (
              <option key={id}>{id}</option>
            ))}
          </select>
        </label>
        {(['baseline', 'candidate'] as const).map((side) => (
          <fieldset key={side}>
            <legend>{side === 'baseline' ? 'Baseline' : 'Candidate'}</legend>
            <label>
              Destination{' '}
              <select name={`${side}.destination`} defaultValue="cloud">
                <option>cloud</option>
                <option>edge</option>
              </select>
            </label>{' '}
            <label>
              Model{' '}
              <input
                name={`${side}.model`}
                defaultValue={side === 'baseline' ? 'claude-sonnet-5-5' : 'claude-haiku-5-5'}
                size={18}
              />
            </label>{' '}
            <label>
              Max tokens <input name={`${side}.maxTokens`} type="number" defaultValue={4000} className="num-input" />
            </label>
          </fieldset>
        ))}
        <fieldset>
          <legend>Plan</legend>
          <label>
            Steps (%) <input name="plan.steps" defaultValue="1, 10, 50, 100" size={16} />
          </label>{' '}
          <label>
            Interval (s) <input name="plan.intervalSeconds" type="number" defaultValue={300} className="num-input" />
          </label>{' '}
          <label>
            Minimum sample <input name="plan.minSample" type="number" defaultValue={50} className="num-input" />
          </label>{' '}
          <label>
            Failures before rollback{' '}
            <input name="plan.maxFailures" type="number" defaultValue={2} className="num-input" />
          </label>
        </fieldset>
        <fieldset>
          <legend>Thresholds (leave a limit empty for no threshold)</legend>
          {METRICS.map((metric: Metric) => (
            <div key={metric} className="threshold-row">
              <span>{METRIC_LABELS[metric]}</span>{' '}
              <select
                name={`threshold.${metric}.kind`}
                defaultValue={metric.endsWith('_rate') && metric !== 'success_rate' ? 'absolute' : 'relative'}
                aria-label={`${METRIC_LABELS[metric]} threshold kind`}
              >
                <option value="relative">% worse than baseline</option>
                <option value="absolute">absolute limit</option>
              </select>{' '}
              <input
                name={`threshold.${metric}.limit`}
                type="number"
                step="any"
                aria-label={`${METRIC_LABELS[metric]} limit`}
                className="num-input"
                defaultValue={DEFAULT_LIMITS[metric] ?? ''}
              />
            </div>
          ))}
        </fieldset>
        <button type="submit" className="button">
          Start the rollout
        </button>
      </Form>
    </details>
  );
}

const DEFAULT_LIMITS: Partial<Record<Metric, number>> = {
  success_rate: 5,
  p95_ttft_ms: 50,
  cost_per_success_micros: 20,
  overload_rate: 5,
};

const OUTCOME: Record<string, string> = {
  promoted: 'promoted',
  rolled_back: 'rolled back automatically',
  aborted: 'aborted',
};

/** The rollouts section: a banner for an automatic rollback, the live rollouts, a start form and the history. */
export function Rollouts(props: {
  rollouts: RolloutView[];
  ruleIds: string[];
  mayPublish: boolean;
  fields: Record<string, string[]>;
}) {
  const { rollouts, ruleIds, mayPublish, fields } = props;
  const now = useNow();
  const live = rollouts.filter((rollout) => rollout.state === 'running' || rollout.state === 'paused');
  const ended = rollouts.filter((rollout) => rollout.state !== 'running' && rollout.state !== 'paused');
  // The alert, until the alerts webhook lands: a rollback of the last 24 hours stays on the page.
  const recentRollbacks = ended.filter(
    (rollout) =>
      rollout.state === 'rolled_back' &&
      rollout.finishedAt &&
      now.getTime() - new Date(rollout.finishedAt).getTime() < 24 * 3600 * 1000,
  );
  return (
    <section className="panel rollouts" aria-labelledby="rollouts">
      <h2 id="rollouts">Rollouts</h2>
      {recentRollbacks.map((rollout) => (
        <p key={rollout.id} className="toast toast-error rollback-banner" role="alert">
          Rollout on rule {rollout.ruleId} was rolled back automatically: {String(rollout.outcome?.reason ?? '')}
        </p>
      ))}
      {live.length === 0 ? <p className="hint">No rollout in progress.</p> : null}
      {live.map((rollout) => (
        <LiveRollout key={rollout.id} rollout={rollout} mayPublish={mayPublish} />
      ))}
      {mayPublish ? <StartRollout ruleIds={ruleIds} fields={fields} /> : null}
      {ended.length > 0 ? (
        <div className="table-scroll">
          <table className="rollout-history">
            <caption>Past rollouts</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Rule</th>
                <th scope="col">Candidate</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {ended.map((rollout) => (
                <tr key={rollout.id}>
                  <td>
                    <Age date={rollout.startedAt} />
                  </td>
                  <td>{rollout.ruleId}</td>
                  <td>{variantText(rollout.candidate)}</td>
                  <td>
                    {OUTCOME[rollout.state] ?? rollout.state}
                    {rollout.outcome?.reason ? `: ${String(rollout.outcome.reason)}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
