import {
  cloudRunCostMicros,
  DEFAULT_PRICES,
  tokenCostMicros,
  UnknownModelError,
  vercelCostMicros,
  withPriceOverrides,
} from './prices';

const usage = (u: Partial<Parameters<typeof tokenCostMicros>[2]>) => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  ...u,
});

describe('token costs on worked examples', () => {
  it('prices a Sonnet chapter with cache terms', () => {
    // 1,200 input × $2/M = $0.0024; 3,000 output × $10/M = $0.03;
    // 4,000 5-min cache writes × $2.50/M = $0.01; 1,000 1-hour writes × $4/M = $0.004;
    // 20,000 cache reads × $0.10/M (from 2026-10-07) = $0.002.
    const cost = tokenCostMicros(
      DEFAULT_PRICES,
      'claude-sonnet-5-5',
      usage({
        inputTokens: 1200,
        outputTokens: 3000,
        cacheWrite5mTokens: 4000,
        cacheWrite1hTokens: 1000,
        cacheReadTokens: 20000,
      }),
      new Date('2026-11-28T12:00:00Z'),
    );
    expect(cost).toEqual({ input: 2400, output: 30000, cacheWrite: 10000 + 4000, cacheRead: 2000 });
  });

  it('uses the price in force on the day: Sonnet cache reads cost $0.20/M before 2026-10-07', () => {
    const before = tokenCostMicros(
      DEFAULT_PRICES,
      'claude-sonnet-5-5',
      usage({ cacheReadTokens: 20000 }),
      new Date('2026-10-06T23:59:59Z'),
    );
    const after = tokenCostMicros(
      DEFAULT_PRICES,
      'claude-sonnet-5-5',
      usage({ cacheReadTokens: 20000 }),
      new Date('2026-10-07T00:00:00Z'),
    );
    expect(before.cacheRead).toBe(4000);
    expect(after.cacheRead).toBe(2000);
  });

  it('prices every token of a long Haiku prompt (> 100k incl. cache) at the higher band, output included', () => {
    const short = tokenCostMicros(
      DEFAULT_PRICES,
      'claude-haiku-5-5',
      usage({ inputTokens: 50_000, cacheReadTokens: 50_000, outputTokens: 1000 }),
      new Date('2026-11-28'),
    );
    expect(short).toEqual({ input: 5000, output: 500, cacheWrite: 0, cacheRead: 500 });
    const long = tokenCostMicros(
      DEFAULT_PRICES,
      'claude-haiku-5-5',
      usage({ inputTokens: 50_001, cacheReadTokens: 50_000, outputTokens: 1000 }),
      new Date('2026-11-28'),
    );
    expect(long).toEqual({ input: Math.round(50_001 * 0.5), output: 2500, cacheWrite: 0, cacheRead: 2500 });
  });

  it('bills Message Batches at half price', () => {
    const cost = tokenCostMicros(
      DEFAULT_PRICES,
      'claude-opus-5-5',
      usage({ inputTokens: 1000, outputTokens: 1000 }),
      new Date('2026-11-28'),
      { batch: true },
    );
    expect(cost).toEqual({ input: 2000, output: 10000, cacheWrite: 0, cacheRead: 0 });
  });

  it('refuses a model it has no prices for', () => {
    expect(() => tokenCostMicros(DEFAULT_PRICES, 'gpt-9', usage({}), new Date())).toThrow(UnknownModelError);
  });
});

describe('compute costs', () => {
  it('prices Cloud Run busy time at 2 vCPU and 4 GiB: the seed’s 60 s job', () => {
    // 60 s × (2 × $0.000024 + 4 × $0.0000025) = 60 × $0.000058 = $0.00348
    expect(cloudRunCostMicros(DEFAULT_PRICES, 60_000)).toBe(3480);
  });

  it('prices a Vercel function by active CPU share, provisioned memory and the invocation', () => {
    // 10 s: 10/3600 h × 0.05 × $0.128 + 10/3600 h × 2 GB × $0.0106 + $0.0000006
    const expected = Math.round((10 / 3600) * 0.05 * 0.128 * 1e6 + (10 / 3600) * 2 * 0.0106 * 1e6 + 0.6);
    expect(vercelCostMicros(DEFAULT_PRICES, 10_000)).toBe(expected);
  });

  it('takes overrides from configuration and validates them', () => {
    const table = withPriceOverrides(DEFAULT_PRICES, { cloudRun: { usdPerVcpuSecond: 0.00002 } });
    expect(table.cloudRun.usdPerVcpuSecond).toBe(0.00002);
    expect(table.cloudRun.memoryGib).toBe(4);
    expect(() => withPriceOverrides(DEFAULT_PRICES, { cloudRun: { vcpus: -1 } })).toThrow();
  });
});
