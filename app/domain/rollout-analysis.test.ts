import { analyseRollout, decideRollout, describeCheck, type VariantSample } from './rollout-analysis';
import type { Metric, Threshold } from './rollout';

function sample(finished: number, metrics: Partial<Record<Metric, number | null>> = {}): VariantSample {
  return {
    finished,
    succeeded: finished,
    metrics: {
      success_rate: 98,
      p95_latency_ms: 20_000,
      p95_ttft_ms: 800,
      cost_per_success_micros: 30_000,
      output_tokens_per_chapter: 2_000,
      overload_rate: 1,
      max_tokens_rate: 2,
      ...metrics,
    },
  };
}

const thresholds: Threshold[] = [
  { metric: 'success_rate', kind: 'relative', limit: 5 },
  { metric: 'p95_ttft_ms', kind: 'relative', limit: 50 },
  { metric: 'cost_per_success_micros', kind: 'relative', limit: 20 },
  { metric: 'overload_rate', kind: 'absolute', limit: 5 },
];
const plan = { minSample: 50, thresholds, steps: [1, 10, 50, 100], maxFailures: 2 };

describe('analyseRollout', () => {
  it('waits with too few samples on either side, even when the candidate looks perfect', () => {
    expect(analyseRollout(plan, sample(500), sample(49))).toMatchObject({ kind: 'wait', candidateFinished: 49 });
    expect(analyseRollout(plan, sample(10), sample(500))).toMatchObject({ kind: 'wait', baselineFinished: 10 });
    expect(analyseRollout(plan, sample(0), sample(0)).kind).toBe('wait');
  });

  it('needs no baseline sample when every threshold is absolute', () => {
    const absolute = { minSample: 50, thresholds: [{ metric: 'overload_rate', kind: 'absolute', limit: 5 } as const] };
    expect(analyseRollout(absolute, sample(0), sample(60)).kind).toBe('pass');
  });

  it('passes a candidate as good as the baseline', () => {
    expect(analyseRollout(plan, sample(100), sample(100)).kind).toBe('pass');
  });

  it.each([
    ['10 points more failures', { success_rate: 88 }, 'success_rate'],
    ['30 % higher cost per chapter', { cost_per_success_micros: 39_000 }, 'cost_per_success_micros'],
    ['2× p95 TTFT', { p95_ttft_ms: 1_600 }, 'p95_ttft_ms'],
    ['an absolute 429/529 rate above 5 %', { overload_rate: 6 }, 'overload_rate'],
  ])('fails a candidate with %s, naming the metric and its numbers', (_, metrics, metric) => {
    const verdict = analyseRollout(plan, sample(100), sample(100, metrics));
    expect(verdict.kind).toBe('fail');
    if (verdict.kind !== 'fail') return;
    expect(verdict.failed.map((result) => result.metric)).toEqual([metric]);
    expect(describeCheck(verdict.failed[0])).toMatch(
      new RegExp(`^${metric}: candidate [\\d.]+ vs baseline [\\d.]+ \\(limit [\\d.]+\\)$`),
    );
  });

  it('does not fail a metric that has no value in the window', () => {
    const verdict = analyseRollout(plan, sample(100, { p95_ttft_ms: null }), sample(100, { p95_ttft_ms: 5_000 }));
    expect(verdict.kind).toBe('pass');
    if (verdict.kind === 'pass') expect(verdict.checks.find((c) => c.metric === 'p95_ttft_ms')?.passed).toBeNull();
  });
});

describe('decideRollout', () => {
  const pass = analyseRollout(plan, sample(100), sample(100));
  const fail = analyseRollout(plan, sample(100), sample(100, { success_rate: 50 }));
  const wait = analyseRollout(plan, sample(1), sample(1));

  it('steps up on a pass and promotes after the last step', () => {
    expect(decideRollout(plan, 0, 0, pass)).toEqual({ action: 'step', stepIndex: 1, weight: 10 });
    expect(decideRollout(plan, 3, 0, pass)).toEqual({ action: 'promote' });
  });

  it('holds on a first failure and rolls back at maxFailures; waiting changes nothing', () => {
    expect(decideRollout(plan, 1, 0, fail)).toEqual({ action: 'hold', failures: 1 });
    expect(decideRollout(plan, 1, 1, fail)).toEqual({ action: 'rollback', failures: 2 });
    expect(decideRollout(plan, 3, 1, wait)).toEqual({ action: 'wait' });
  });
});
