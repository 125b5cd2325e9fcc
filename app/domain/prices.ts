/**
 * Prices, as data with their source and effective date, and the one place usage becomes USD.
 * Amounts are micro-dollars (1e-6 USD) rounded to whole numbers per component, so stored
 * costs are integers and any total is exactly the sum of its parts.
 *
 * WARNING: prices change. Each entry names where it came from and from when it applies;
 * deployments can override any of them with PRICES_OVERRIDE (see the README).
 */
import { z } from 'zod';

/** USD per million tokens. */
export const TokenPricesSchema = z.object({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheWrite5m: z.number().nonnegative(),
  cacheWrite1h: z.number().nonnegative(),
  cacheRead: z.number().nonnegative(),
});
export type TokenPrices = z.infer<typeof TokenPricesSchema>;

const PricePeriodSchema = z.object({
  /** ISO date from which these prices apply (UTC). */
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  prices: TokenPricesSchema,
  /** Prompts longer than this many tokens (input + cache writes + cache reads) use longPrompt prices for every token. */
  longPromptThreshold: z.number().int().positive().optional(),
  longPrompt: TokenPricesSchema.optional(),
});

export const PriceTableSchema = z.object({
  models: z.record(z.string(), z.object({ source: z.string(), periods: z.array(PricePeriodSchema).min(1) })),
  /** Message Batches are billed at this fraction of the prices above. */
  batchDiscountFactor: z.number().min(0).max(1),
  cloudRun: z.object({
    source: z.string(),
    effective: z.string(),
    usdPerVcpuSecond: z.number().nonnegative(),
    usdPerGibSecond: z.number().nonnegative(),
    /** The worker's instance size (worker/service.yaml): 2 vCPU, 4 GiB. */
    vcpus: z.number().positive(),
    memoryGib: z.number().positive(),
  }),
  vercel: z.object({
    source: z.string(),
    effective: z.string(),
    usdPerActiveCpuHour: z.number().nonnegative(),
    usdPerProvisionedGbHour: z.number().nonnegative(),
    usdPerMillionInvocations: z.number().nonnegative(),
    memoryGb: z.number().positive(),
    /** Share of an edge generation's wall time the CPU is busy (it mostly waits on the stream). */
    activeCpuShare: z.number().min(0).max(1),
  }),
});
export type PriceTable = z.infer<typeof PriceTableSchema>;

const ANTHROPIC_PRICING = 'Anthropic pricing page as quoted in shared/FACTS.md (checked 2026-11-28)';

export const DEFAULT_PRICES: PriceTable = {
  models: {
    'claude-opus-5-5': {
      source: ANTHROPIC_PRICING,
      periods: [
        { from: '2026-01-01', prices: { input: 4, output: 20, cacheWrite5m: 5, cacheWrite1h: 8, cacheRead: 0.2 } },
      ],
    },
    'claude-sonnet-5-5': {
      source: ANTHROPIC_PRICING,
      periods: [
        { from: '2026-01-01', prices: { input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 } },
        { from: '2026-10-07', prices: { input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.1 } },
      ],
    },
    'claude-haiku-5-5': {
      source: ANTHROPIC_PRICING,
      periods: [
        {
          from: '2026-01-01',
          prices: { input: 0.1, output: 0.5, cacheWrite5m: 0.125, cacheWrite1h: 0.2, cacheRead: 0.01 },
          longPromptThreshold: 100_000,
          longPrompt: { input: 0.5, output: 2.5, cacheWrite5m: 0.625, cacheWrite1h: 1, cacheRead: 0.05 },
        },
      ],
    },
  },
  batchDiscountFactor: 0.5,
  cloudRun: {
    source:
      'Cloud Run request-based billing, tier 1, as quoted by the architecture seed; confirm current regional rates',
    effective: '2026-11-28',
    usdPerVcpuSecond: 0.000024,
    usdPerGibSecond: 0.0000025,
    vcpus: 2,
    memoryGib: 4,
  },
  vercel: {
    source:
      'Vercel Functions on Fluid compute (active CPU, provisioned memory, invocations), published Pro rates for iad1; UNVERIFIED here, override with PRICES_OVERRIDE',
    effective: '2026-11-28',
    usdPerActiveCpuHour: 0.128,
    usdPerProvisionedGbHour: 0.0106,
    usdPerMillionInvocations: 0.6,
    memoryGb: 2,
    activeCpuShare: 0.05,
  },
};

export const DEFAULT_MODEL = 'claude-sonnet-5-5';

export function knownModels(table: PriceTable = DEFAULT_PRICES): string[] {
  return Object.keys(table.models);
}

export interface UsageForCost {
  inputTokens: number;
  outputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  cacheReadTokens: number;
}

export interface TokenCost {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

export class UnknownModelError extends Error {}

/** The token prices that applied to a request of `promptTokens` for `model` on `at`. */
export function tokenPricesFor(table: PriceTable, model: string, at: Date, promptTokens: number): TokenPrices {
  const entry = table.models[model];
  if (!entry) throw new UnknownModelError(`No prices for model "${model}". Known: ${knownModels(table).join(', ')}.`);
  const day = at.toISOString().slice(0, 10);
  const applicable = entry.periods.filter((period) => period.from <= day).sort((a, b) => (a.from < b.from ? 1 : -1));
  const period = applicable[0] ?? entry.periods[0];
  if (period.longPrompt && period.longPromptThreshold && promptTokens > period.longPromptThreshold)
    return period.longPrompt;
  return period.prices;
}

/** Token cost in micro-dollars: tokens × USD per million tokens is exactly micro-dollars. */
export function tokenCostMicros(
  table: PriceTable,
  model: string,
  usage: UsageForCost,
  at: Date,
  options: { batch?: boolean } = {},
): TokenCost {
  const promptTokens = usage.inputTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens + usage.cacheReadTokens;
  const prices = tokenPricesFor(table, model, at, promptTokens);
  const factor = options.batch ? table.batchDiscountFactor : 1;
  const micros = (tokens: number, usdPerMillion: number) => Math.round(tokens * usdPerMillion * factor);
  return {
    input: micros(usage.inputTokens, prices.input),
    output: micros(usage.outputTokens, prices.output),
    cacheWrite:
      micros(usage.cacheWrite5mTokens, prices.cacheWrite5m) + micros(usage.cacheWrite1hTokens, prices.cacheWrite1h),
    cacheRead: micros(usage.cacheReadTokens, prices.cacheRead),
  };
}

/** Cloud Run instance time for a job's busy time at the configured instance size. */
export function cloudRunCostMicros(table: PriceTable, busyMs: number): number {
  const seconds = busyMs / 1000;
  const { usdPerVcpuSecond, usdPerGibSecond, vcpus, memoryGib } = table.cloudRun;
  return Math.round(seconds * (vcpus * usdPerVcpuSecond + memoryGib * usdPerGibSecond) * 1_000_000);
}

/** A Vercel function invocation of `durationMs` that mostly waits on the model's stream. */
export function vercelCostMicros(table: PriceTable, durationMs: number): number {
  const hours = durationMs / 3_600_000;
  const { usdPerActiveCpuHour, usdPerProvisionedGbHour, usdPerMillionInvocations, memoryGb, activeCpuShare } =
    table.vercel;
  const usd =
    hours * activeCpuShare * usdPerActiveCpuHour +
    hours * memoryGb * usdPerProvisionedGbHour +
    usdPerMillionInvocations / 1_000_000;
  return Math.round(usd * 1_000_000);
}

/**
 * PRICES_OVERRIDE as both env modules (app and worker) read it: JSON, parsed at start-up, so an
 * edge job and a cloud job are priced from the same table.
 */
export const PricesOverrideSetting = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (!value) return undefined;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  });

/** The price table a process uses: the defaults, with PRICES_OVERRIDE merged over them when set. */
export function pricesFrom(override: unknown): PriceTable {
  return override === undefined ? DEFAULT_PRICES : withPriceOverrides(DEFAULT_PRICES, override);
}

/** Deep-merges a partial override (from configuration) into a price table and validates it. */
export function withPriceOverrides(table: PriceTable, override: unknown): PriceTable {
  const merged = deepMerge(table, override);
  return PriceTableSchema.parse(merged);
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (Array.isArray(patch) || typeof patch !== 'object' || patch === null) return patch;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return patch;
  const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) result[key] = deepMerge(result[key], value);
  return result;
}

/**
 * An upper bound for queuing `chapters` chapters before any is generated: their prompts at the
 * input price and every chapter using all of max_tokens at the output price (cache savings
 * not counted). Micro-dollars.
 */
export function estimateMaxCostMicros(
  model: string,
  promptTokensPerChapter: number,
  maxTokens: number,
  chapters: number,
  table: PriceTable = DEFAULT_PRICES,
): number {
  const perChapter = tokenCostMicros(
    table,
    model,
    {
      inputTokens: promptTokensPerChapter,
      outputTokens: maxTokens,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      cacheReadTokens: 0,
    },
    new Date(),
  );
  return (perChapter.input + perChapter.output) * chapters;
}

/**
 * The prompt tokens a chapter's request is assumed to use when the server reserves a job's cost
 * against its batch's cap (chapter prompts measure a few hundred tokens; this errs high).
 */
export const JOB_ESTIMATE_PROMPT_TOKENS = 1_000;

/** What one job of a batch reserves against the batch's cap while it runs: its upper bound. */
export function jobEstimateMicros(model: string, maxTokens: number, table: PriceTable = DEFAULT_PRICES): number {
  return estimateMaxCostMicros(model, JOB_ESTIMATE_PROMPT_TOKENS, maxTokens, 1, table);
}

/**
 * The most a Message Batches submission saves against streaming the same chapters: the upper
 * bound of their cost (every chapter using all its max tokens) less the batch factor of it.
 */
export function batchSavingMicros(
  model: string,
  maxTokens: number,
  chapters: number,
  table: PriceTable = DEFAULT_PRICES,
): number {
  if (!table.models[model]) return 0;
  return Math.round(jobEstimateMicros(model, maxTokens, table) * chapters * (1 - table.batchDiscountFactor));
}
