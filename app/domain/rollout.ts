/**
 * Progressive delivery for generation (ADR 0018): a rollout moves one route rule's traffic from a
 * baseline variant to a candidate, step by step, and an analysis of generation metrics decides
 * each step. Web APIs only, like the router.
 */
import { z } from 'zod';

import { knownModels } from './prices';
import { BUCKETS, stickyBucket } from './routing';

export const VariantSchema = z.object({
  destination: z.enum(['edge', 'cloud'], { message: 'must be edge or cloud' }),
  model: z.string().refine((model) => knownModels().includes(model), {
    message: `must be a model with prices (${knownModels().join(', ')})`,
  }),
  maxTokens: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(128_000, 'must be at most 128000'),
});

export type Variant = z.infer<typeof VariantSchema>;

/** Higher is better for the success rate; lower for everything else. */
export const METRICS = [
  'success_rate',
  'p95_latency_ms',
  'p95_ttft_ms',
  'cost_per_success_micros',
  'output_tokens_per_chapter',
  'overload_rate',
  'max_tokens_rate',
] as const;
export type Metric = (typeof METRICS)[number];

/** Metrics that are percentages (0–100). */
const PERCENT_METRICS: ReadonlySet<Metric> = new Set(['success_rate', 'overload_rate', 'max_tokens_rate']);

export const METRIC_LABELS: Record<Metric, string> = {
  success_rate: 'Success rate (%)',
  p95_latency_ms: 'p95 latency (ms)',
  p95_ttft_ms: 'p95 time to first token (ms)',
  cost_per_success_micros: 'Cost per successful chapter (µ$)',
  output_tokens_per_chapter: 'Output tokens per chapter',
  overload_rate: '429/529 rate (%)',
  max_tokens_rate: 'max_tokens stop rate (%)',
};

/**
 * absolute: the candidate's value must be at most `limit` (at least, for the success rate).
 * relative: the candidate may be at most `limit` % worse than the baseline's value.
 */
export const ThresholdSchema = z
  .object({
    metric: z.enum(METRICS, { message: `must be one of ${METRICS.join(', ')}` }),
    kind: z.enum(['absolute', 'relative'], { message: 'must be absolute or relative' }),
    limit: z.number({ message: 'must be a number' }).finite('must be a number').min(0, 'must be 0 or more'),
  })
  .superRefine((threshold, ctx) => {
    if (threshold.kind === 'absolute' && PERCENT_METRICS.has(threshold.metric) && threshold.limit > 100)
      ctx.addIssue({ code: 'custom', path: ['limit'], message: 'a percentage must be at most 100' });
    if (threshold.kind === 'relative' && threshold.limit > 1000)
      ctx.addIssue({ code: 'custom', path: ['limit'], message: 'a relative limit must be at most 1000 %' });
  });

export type Threshold = z.infer<typeof ThresholdSchema>;

export const RolloutPlanSchema = z
  .object({
    steps: z
      .array(z.number().gt(0, 'must be above 0').max(100, 'must be at most 100'))
      .min(1, 'give at least one step')
      .max(20, 'at most 20 steps'),
    intervalSeconds: z.number().int().min(10, 'must be at least 10 s').max(86_400, 'must be at most a day'),
    minSample: z.number().int().min(1, 'must be at least 1').max(1_000_000),
    maxFailures: z.number().int().min(1, 'must be at least 1').max(100),
    thresholds: z.array(ThresholdSchema).min(1, 'give at least one threshold'),
  })
  .superRefine((plan, ctx) => {
    plan.steps.forEach((step, index) => {
      if (index > 0 && step <= plan.steps[index - 1])
        ctx.addIssue({ code: 'custom', path: ['steps', index], message: 'steps must increase' });
    });
    const seen = new Set<string>();
    plan.thresholds.forEach((threshold, index) => {
      if (seen.has(threshold.metric))
        ctx.addIssue({ code: 'custom', path: ['thresholds', index, 'metric'], message: 'one threshold per metric' });
      seen.add(threshold.metric);
    });
  });

export type RolloutPlan = z.infer<typeof RolloutPlanSchema>;

export const StartRolloutSchema = z
  .object({
    ruleId: z.string().min(1, 'choose a rule'),
    baseline: VariantSchema,
    candidate: VariantSchema,
    plan: RolloutPlanSchema,
  })
  .superRefine((input, ctx) => {
    const { baseline, candidate } = input;
    if (
      baseline.destination === candidate.destination &&
      baseline.model === candidate.model &&
      baseline.maxTokens === candidate.maxTokens
    )
      ctx.addIssue({ code: 'custom', path: ['candidate'], message: 'the candidate must differ from the baseline' });
  });

export type StartRolloutInput = z.infer<typeof StartRolloutSchema>;

export type RolloutState = 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';

export const isLive = (state: RolloutState) => state === 'running' || state === 'paused';

/**
 * Which variant a chapter gets at this weight: a bucket of its own per rollout (salted with the
 * rollout id, so rollouts are independent of each other and of the canary), candidate below the
 * weight. Raising the weight only ever moves baseline → candidate, so a chapter keeps its variant
 * through the rollout until it is promoted.
 */
export function rolloutVariant(
  rolloutId: string,
  stickyValue: string,
  weightPercent: number,
): 'baseline' | 'candidate' {
  const bucket = stickyBucket(`rollout:${rolloutId}:${stickyValue}`);
  return bucket < Math.round((weightPercent * BUCKETS) / 100) ? 'candidate' : 'baseline';
}
