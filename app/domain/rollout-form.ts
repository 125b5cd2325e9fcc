/**
 * The Routing page's rollout form → the (unvalidated) start-rollout input; StartRolloutSchema
 * then validates it and names each bad field by its path (`plan.steps[1]`).
 */
import { METRICS } from './rollout';

function numberOrNaN(value: FormDataEntryValue | null): number {
  return typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
}

function variant(form: FormData, prefix: 'baseline' | 'candidate') {
  return {
    destination: String(form.get(`${prefix}.destination`) ?? ''),
    model: String(form.get(`${prefix}.model`) ?? '').trim(),
    maxTokens: numberOrNaN(form.get(`${prefix}.maxTokens`)),
  };
}

/** A metric gets a threshold when its limit is filled in. */
export function rolloutInputFromForm(form: FormData): unknown {
  const steps = String(form.get('plan.steps') ?? '')
    .split(/[\s,%→>]+/)
    .filter(Boolean)
    .map(Number);
  return {
    ruleId: String(form.get('ruleId') ?? ''),
    baseline: variant(form, 'baseline'),
    candidate: variant(form, 'candidate'),
    plan: {
      steps,
      intervalSeconds: numberOrNaN(form.get('plan.intervalSeconds')),
      minSample: numberOrNaN(form.get('plan.minSample')),
      maxFailures: numberOrNaN(form.get('plan.maxFailures')),
      thresholds: METRICS.flatMap((metric) => {
        const limit = form.get(`threshold.${metric}.limit`);
        if (typeof limit !== 'string' || limit.trim() === '') return [];
        return [{ metric, kind: String(form.get(`threshold.${metric}.kind`) ?? ''), limit: numberOrNaN(limit) }];
      }),
    },
  };
}
