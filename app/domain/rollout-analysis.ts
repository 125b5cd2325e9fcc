/**
 * One analysis of a rollout (ADR 0018): the candidate's generation metrics against the
 * baseline's over the same window, each against its threshold, and what the rollout does next.
 * Pure: the figures come from the jobs tables (rollout-analysis.server.ts).
 */
import type { Metric, RolloutPlan, Threshold } from './rollout';

/** One variant's figures over a window; a metric is null when nothing could give it a value. */
export interface VariantSample {
  /** Jobs that ended (succeeded or failed) in the window; cancelled ones are left out. */
  finished: number;
  succeeded: number;
  metrics: Record<Metric, number | null>;
}

export interface MetricCheck extends Threshold {
  baseline: number | null;
  candidate: number | null;
  /** The value the candidate had to stay within (below, or above for the success rate). */
  bound: number | null;
  /** null: not evaluable in this window (no value on one side); it neither passes nor fails. */
  passed: boolean | null;
}

export type Verdict =
  | { kind: 'wait'; reason: string; baselineFinished: number; candidateFinished: number }
  | { kind: 'pass'; checks: MetricCheck[] }
  | { kind: 'fail'; checks: MetricCheck[]; failed: MetricCheck[] };

const HIGHER_IS_BETTER: ReadonlySet<Metric> = new Set(['success_rate']);

function check(threshold: Threshold, baseline: VariantSample, candidate: VariantSample): MetricCheck {
  const base = baseline.metrics[threshold.metric];
  const cand = candidate.metrics[threshold.metric];
  const higher = HIGHER_IS_BETTER.has(threshold.metric);
  let bound: number | null;
  if (threshold.kind === 'absolute') bound = threshold.limit;
  else if (base === null) bound = null;
  else bound = higher ? base * (1 - threshold.limit / 100) : base * (1 + threshold.limit / 100);
  const passed = bound === null || cand === null ? null : higher ? cand >= bound - 1e-9 : cand <= bound + 1e-9;
  return { ...threshold, baseline: base, candidate: cand, bound, passed };
}

/**
 * Too few finished jobs on either side (fewer than the plan's minimum sample) → wait: a rollout
 * is never promoted on no data. `needsBaseline` is false at 100 %, where no baseline traffic is
 * left and the caller compares with the baseline's figures since the rollout started.
 */
export function analyseRollout(
  plan: Pick<RolloutPlan, 'minSample' | 'thresholds'>,
  baseline: VariantSample,
  candidate: VariantSample,
): Verdict {
  const needsBaseline = plan.thresholds.some((threshold) => threshold.kind === 'relative');
  if (candidate.finished < plan.minSample || (needsBaseline && baseline.finished < plan.minSample))
    return {
      kind: 'wait',
      reason:
        `Too few finished jobs: candidate ${candidate.finished}` +
        (needsBaseline ? `, baseline ${baseline.finished}` : '') +
        ` (at least ${plan.minSample} each).`,
      baselineFinished: baseline.finished,
      candidateFinished: candidate.finished,
    };
  const checks = plan.thresholds.map((threshold) => check(threshold, baseline, candidate));
  const failed = checks.filter((result) => result.passed === false);
  return failed.length > 0 ? { kind: 'fail', checks, failed } : { kind: 'pass', checks };
}

export type RolloutDecision =
  | { action: 'wait' }
  /** Failed, but fewer than maxFailures times in this step: the weight holds. */
  | { action: 'hold'; failures: number }
  | { action: 'step'; stepIndex: number; weight: number }
  | { action: 'promote' }
  | { action: 'rollback'; failures: number };

/** What a verdict does to a rollout at `stepIndex` that has failed `failures` times in this step. */
export function decideRollout(
  plan: Pick<RolloutPlan, 'steps' | 'maxFailures'>,
  stepIndex: number,
  failures: number,
  verdict: Verdict,
): RolloutDecision {
  if (verdict.kind === 'wait') return { action: 'wait' };
  if (verdict.kind === 'fail')
    return failures + 1 >= plan.maxFailures
      ? { action: 'rollback', failures: failures + 1 }
      : { action: 'hold', failures: failures + 1 };
  if (stepIndex + 1 >= plan.steps.length) return { action: 'promote' };
  return { action: 'step', stepIndex: stepIndex + 1, weight: plan.steps[stepIndex + 1] };
}

/** "p95_ttft_ms: candidate 2400 vs baseline 1200 (limit 1560)": a failed check for people. */
export function describeCheck(result: MetricCheck): string {
  const round = (value: number | null) => (value === null ? 'n/a' : String(Math.round(value * 100) / 100));
  return `${result.metric}: candidate ${round(result.candidate)} vs baseline ${round(result.baseline)} (limit ${round(result.bound)})`;
}
