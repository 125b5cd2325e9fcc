import { DEFAULT_ROUTING_CONFIG, RoutingConfigSchema } from './routing';
import { configFromForm, ruleFieldName } from './routing-form';

function formOf(config: typeof DEFAULT_ROUTING_CONFIG): FormData {
  const form = new FormData();
  if (config.hybridEnabled) form.set('hybridEnabled', 'on');
  form.set('canaryPercent', String(config.canaryPercent));
  form.set('stickyKey', config.stickyKey);
  config.rules.forEach((rule, i) => {
    form.set(ruleFieldName(i, 'id'), rule.id);
    form.set(ruleFieldName(i, 'path'), rule.match.path);
    form.set(ruleFieldName(i, 'methods'), (rule.match.methods ?? []).join(', '));
    form.set(ruleFieldName(i, 'destination'), rule.destination);
    form.set(ruleFieldName(i, 'priority'), rule.priority);
    form.set(ruleFieldName(i, 'timeoutMs'), String(rule.timeoutMs));
    form.set(ruleFieldName(i, 'maxRetries'), String(rule.retry.maxRetries));
    form.set(ruleFieldName(i, 'backoff'), rule.retry.backoff);
    form.set(ruleFieldName(i, 'baseDelayMs'), String(rule.retry.baseDelayMs));
    form.set(ruleFieldName(i, 'maxDelayMs'), String(rule.retry.maxDelayMs));
    // The editor always sends it, `batch` when the rule has none.
    form.set(ruleFieldName(i, 'batchRetriesTo'), rule.retry.batchRetriesTo ?? 'batch');
    // The rule editor carries a promoted rollout's model and max tokens as hidden inputs.
    if (rule.model) form.set(`rules[${i}].model`, rule.model);
    if (rule.maxTokens) form.set(`rules[${i}].maxTokens`, String(rule.maxTokens));
  });
  const d = config.defaultRule;
  form.set('defaultRule.destination', d.destination);
  form.set('defaultRule.priority', d.priority);
  form.set('defaultRule.timeoutMs', String(d.timeoutMs));
  form.set('defaultRule.retry.maxRetries', String(d.retry.maxRetries));
  form.set('defaultRule.retry.backoff', d.retry.backoff);
  form.set('defaultRule.retry.baseDelayMs', String(d.retry.baseDelayMs));
  form.set('defaultRule.retry.maxDelayMs', String(d.retry.maxDelayMs));
  return form;
}

describe('configFromForm', () => {
  it('reads back exactly the config the form was filled from', () => {
    expect(RoutingConfigSchema.parse(configFromForm(formOf(DEFAULT_ROUTING_CONFIG)))).toEqual(DEFAULT_ROUTING_CONFIG);
  });

  it('keeps the model and max tokens a promoted rollout gave a rule', () => {
    const promoted = {
      ...DEFAULT_ROUTING_CONFIG,
      rules: DEFAULT_ROUTING_CONFIG.rules.map((rule, i) =>
        i === 0 ? { ...rule, model: 'claude-haiku-5-5', maxTokens: 3000 } : rule,
      ),
    };
    expect(RoutingConfigSchema.parse(configFromForm(formOf(promoted)))).toEqual(promoted);
  });

  it('keeps a batch rule whose errored retries go to the cloud', () => {
    const batchRule = {
      ...DEFAULT_ROUTING_CONFIG,
      rules: DEFAULT_ROUTING_CONFIG.rules.map((rule) =>
        rule.id === 'batch'
          ? {
              ...rule,
              destination: 'batch' as const,
              priority: 'low' as const,
              retry: { ...rule.retry, batchRetriesTo: 'cloud' as const },
            }
          : rule,
      ),
    };
    expect(RoutingConfigSchema.parse(configFromForm(formOf(batchRule)))).toEqual(batchRule);
    const form = formOf(batchRule);
    form.set(ruleFieldName(1, 'batchRetriesTo'), 'edge');
    const result = RoutingConfigSchema.safeParse(configFromForm(form));
    expect(result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'rules.1.retry.batchRetriesTo: must be batch or cloud',
    ]);
  });

  it('reports a bad field under the name of its input', () => {
    const form = formOf(DEFAULT_ROUTING_CONFIG);
    form.set(ruleFieldName(1, 'timeoutMs'), 'soon');
    form.delete('hybridEnabled');
    const result = RoutingConfigSchema.safeParse(configFromForm(form));
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path.join('.'))).toEqual(['rules.1.timeoutMs']);
    expect((configFromForm(form) as { hybridEnabled: boolean }).hybridEnabled).toBe(false);
  });
});
