import { DEFAULT_ROUTING_CONFIG, routeRequest, RoutingConfigSchema, stickyBucket, type RoutingConfig } from './routing';

const post = (path: string) => new Request(`https://switchyard.example${path}`, { method: 'POST' });
const get = (path: string) => new Request(`https://switchyard.example${path}`);
const allCloud: RoutingConfig = { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 100 };

describe('routeRequest on the seed’s examples', () => {
  it('sends generation and batch routes to the cloud: normal priority, 5 minutes, 2 exponential retries', () => {
    for (const path of ['/api/content/generate-chapter', '/api/content/batch-generate']) {
      const decision = routeRequest(post(path), allCloud, { chapter: 'c1' });
      expect(decision).toMatchObject({
        destination: 'cloud',
        priority: 'normal',
        timeoutMs: 300_000,
        retryPolicy: { maxRetries: 2, backoff: 'exponential' },
      });
    }
  });

  it('answers everything else at the edge: high priority, 10 s, 1 retry without backoff', () => {
    for (const request of [get('/api/chapters/123'), post('/api/progress/update'), get('/api/user/profile')]) {
      expect(routeRequest(request, allCloud)).toMatchObject({
        destination: 'edge',
        priority: 'high',
        timeoutMs: 10_000,
        retryPolicy: { maxRetries: 1, backoff: 'none' },
        reason: { ruleId: 'default', bucket: null, override: null },
      });
    }
  });

  it('matches params, wildcards and methods', () => {
    const config: RoutingConfig = {
      ...allCloud,
      rules: [
        {
          ...allCloud.rules[0],
          id: 'job-read',
          match: { path: '/api/jobs/:id', methods: ['GET'] },
          destination: 'edge',
        },
        { ...allCloud.rules[0], id: 'analytics', match: { path: '/api/analytics/**' } },
      ],
    };
    expect(routeRequest(get('/api/jobs/42'), config).reason.ruleId).toBe('job-read');
    expect(routeRequest(post('/api/jobs/42'), config).reason.ruleId).toBe('default');
    expect(routeRequest(get('/api/jobs/42/events'), config).reason.ruleId).toBe('default');
    expect(routeRequest(get('/api/analytics/compute/daily'), config, { chapter: 'x' }).reason.ruleId).toBe('analytics');
  });

  it('carries its reason: rule, bucket and config version', () => {
    const decision = routeRequest(post('/api/content/generate-chapter'), allCloud, { chapter: 'chapter-7' }, 12);
    expect(decision.reason).toEqual({
      ruleId: 'generate',
      configVersion: 12,
      bucket: stickyBucket('chapter:chapter-7'),
      override: null,
    });
  });
});

describe('a rule with a model', () => {
  it('passes the rule’s model and max tokens on in its decision, and none when the rule sets none', () => {
    const config: RoutingConfig = {
      ...allCloud,
      rules: allCloud.rules.map((rule) =>
        rule.id === 'generate' ? { ...rule, model: 'claude-haiku-5-5', maxTokens: 3000 } : rule,
      ),
    };
    expect(routeRequest(post('/api/content/generate-chapter'), config)).toMatchObject({
      model: 'claude-haiku-5-5',
      maxTokens: 3000,
    });
    expect(routeRequest(post('/api/content/batch-generate'), config)).not.toHaveProperty('model');
  });
});

describe('kill switch and canary', () => {
  it('sends everything to the edge when the kill switch is flipped', () => {
    const config = { ...allCloud, hybridEnabled: false };
    for (let i = 0; i < 200; i += 1) {
      const decision = routeRequest(post('/api/content/generate-chapter'), config, { chapter: `c${i}` });
      expect(decision.destination).toBe('edge');
      expect(decision.reason.override).toBe('kill-switch');
    }
  });

  it('keeps a chapter on its side while the percentage holds, and only moves edge → cloud as it rises', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `chapter-${i}`);
    let previous = new Map<string, string>();
    for (const percent of [0, 0.1, 5, 10, 10, 25, 50, 99.9, 100]) {
      const config = { ...DEFAULT_ROUTING_CONFIG, canaryPercent: percent };
      const now = new Map(
        keys.map((key) => [
          key,
          routeRequest(post('/api/content/generate-chapter'), config, { chapter: key }).destination,
        ]),
      );
      for (const [key, side] of previous)
        if (side === 'cloud') expect(now.get(key), `${key} at ${percent}%`).toBe('cloud');
      previous = now;
    }
    expect([...previous.values()].every((side) => side === 'cloud')).toBe(true);
  });

  it.each([0.1, 10, 33.3, 90])('sends %s%% of 100,000 keys to the cloud, within ±0.5%%', (percent) => {
    const config = { ...DEFAULT_ROUTING_CONFIG, canaryPercent: percent };
    let cloud = 0;
    for (let i = 0; i < 100_000; i += 1) {
      if (
        routeRequest(post('/api/content/generate-chapter'), config, {
          chapter: `7f3c${i.toString(16).padStart(8, '0')}-chapter`,
        }).destination === 'cloud'
      )
        cloud += 1;
    }
    expect(Math.abs((cloud / 100_000) * 100 - percent)).toBeLessThanOrEqual(0.5);
  });

  it('uses the configured sticky key', () => {
    const config: RoutingConfig = { ...DEFAULT_ROUTING_CONFIG, stickyKey: 'course', canaryPercent: 50 };
    const sides = new Set(
      Array.from(
        { length: 50 },
        (_, i) =>
          routeRequest(post('/api/content/generate-chapter'), config, { chapter: `c${i}`, course: 'one-course' })
            .destination,
      ),
    );
    expect(sides.size).toBe(1);
  });
});

describe('RoutingConfigSchema', () => {
  const issues = (config: unknown) => {
    const result = RoutingConfigSchema.safeParse(config);
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('accepts the defaults', () => {
    expect(issues(DEFAULT_ROUTING_CONFIG)).toEqual([]);
  });

  it.each([
    [{ canaryPercent: 100.5 }, 'canaryPercent: must be between 0 and 100'],
    [{ canaryPercent: 10.05 }, 'canaryPercent: must be in steps of 0.1'],
    [{ stickyKey: 'session' }, 'stickyKey: must be chapter, course or user'],
    [
      { rules: [{ ...DEFAULT_ROUTING_CONFIG.rules[0], id: 'Bad Id' }] },
      'rules.0.id: must be lowercase letters, digits and dashes',
    ],
    [
      { rules: [{ ...DEFAULT_ROUTING_CONFIG.rules[0], match: { path: 'no-slash' } }] },
      'rules.0.match.path: must be a path pattern',
    ],
    [
      { rules: [{ ...DEFAULT_ROUTING_CONFIG.rules[0], destination: 'moon' }] },
      'rules.0.destination: must be edge, cloud or batch',
    ],
    [{ rules: [{ ...DEFAULT_ROUTING_CONFIG.rules[0], timeoutMs: 5 }] }, 'rules.0.timeoutMs: must be at least 100 ms'],
    [
      { rules: [{ ...DEFAULT_ROUTING_CONFIG.rules[0], destination: 'batch', priority: 'high' }] },
      'rules.0.priority: high priority cannot go to batch: the Message Batches API may take up to 24 hours',
    ],
    [
      { defaultRule: { ...DEFAULT_ROUTING_CONFIG.defaultRule, destination: 'batch' } },
      'defaultRule.priority: high priority cannot go to batch',
    ],
    [
      { rules: [DEFAULT_ROUTING_CONFIG.rules[0], DEFAULT_ROUTING_CONFIG.rules[0]] },
      'rules.1.id: duplicate rule id "generate"',
    ],
    [
      {
        defaultRule: {
          ...DEFAULT_ROUTING_CONFIG.defaultRule,
          retry: { maxRetries: 1, backoff: 'linear', baseDelayMs: 500, maxDelayMs: 100 },
        },
      },
      'defaultRule.retry.maxDelayMs: maxDelayMs must be at least baseDelayMs',
    ],
  ])('refuses %j with a message for the field', (patch, message) => {
    expect(issues({ ...DEFAULT_ROUTING_CONFIG, ...patch }).join('\n')).toContain(message);
  });
});

describe('the batch destination', () => {
  const economy: RoutingConfig = {
    ...allCloud,
    rules: [{ ...DEFAULT_ROUTING_CONFIG.rules[1], destination: 'batch', priority: 'low' }],
  };
  const batchPath = post('/api/content/batch-generate');

  it('is accepted by the schema for normal and low priority', () => {
    expect(RoutingConfigSchema.safeParse(economy).success).toBe(true);
  });

  it('sends economy delivery to batch, and asap delivery to the cloud (streamed)', () => {
    expect(routeRequest(batchPath, economy, { chapter: 'c1' }, 3, 'economy')).toMatchObject({
      destination: 'batch',
      priority: 'low',
      reason: { ruleId: 'batch', override: null },
    });
    expect(routeRequest(batchPath, economy, { chapter: 'c1' }, 3)).toMatchObject({
      destination: 'cloud',
      reason: { override: 'asap-delivery' },
    });
  });

  it('falls back to the cloud, never the edge, under the kill switch or outside the canary', () => {
    expect(
      routeRequest(batchPath, { ...economy, hybridEnabled: false }, { chapter: 'c1' }, 3, 'economy'),
    ).toMatchObject({ destination: 'cloud', reason: { override: 'kill-switch' } });
    expect(routeRequest(batchPath, { ...economy, canaryPercent: 0 }, { chapter: 'c1' }, 3, 'economy')).toMatchObject({
      destination: 'cloud',
      reason: { override: 'outside-canary' },
    });
  });
});
