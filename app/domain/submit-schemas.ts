/**
 * What a caller may send to queue generation (API JSON and dashboard forms alike). Field names
 * are the API's snake_case, as in the seed (`chapter_id`).
 */
import { z } from 'zod';

import { safeText } from './input';

export { fieldErrors } from './input';
import { DEFAULT_MODEL, knownModels } from './prices';
import { DELIVERIES } from './routing';

export const MAX_BATCH_SIZE = 1000;
export const DEFAULT_MAX_TOKENS = 4096;

const model = z
  .string({ message: 'must be a model name' })
  .refine((value) => knownModels().includes(value), { message: `must be one of ${knownModels().join(', ')}` });

const generationOptions = {
  model: model.default(DEFAULT_MODEL),
  max_tokens: z
    .number({ message: 'must be a whole number of tokens' })
    .int({ message: 'must be a whole number of tokens' })
    .min(1, { message: 'must be at least 1' })
    .max(64_000, { message: 'must be at most 64000' })
    .default(DEFAULT_MAX_TOKENS),
  temperature: z
    .number({ message: 'must be a number from 0 to 1' })
    .min(0, { message: 'must be from 0 to 1' })
    .max(1, { message: 'must be from 0 to 1' })
    .nullable()
    .default(null),
  priority: z.enum(['high', 'normal', 'low'], { message: 'must be high, normal or low' }).optional(),
  /**
   * `economy` lets a rule whose destination is `batch` send the work to the Message Batches API
   * (half price, results within 24 h); `asap` (the default) never waits for a batch. Optional,
   * not defaulted, so fingerprints of requests stored before it existed still match (ADR 0020).
   */
  delivery: z.enum(DELIVERIES, { message: 'must be asap or economy' }).optional(),
  idempotency_key: safeText
    .min(1, { message: 'must not be empty' })
    .max(200, { message: 'must be at most 200 characters' })
    .optional(),
};

/** The largest batch cap accepted: anything above is a typo, not a budget. */
export const MAX_BATCH_CAP_USD = 1_000_000;

/** A batch's spend cap in dollars: the claim stops the batch when its next job no longer fits. */
export const maxCostUsd = z
  .number({ message: 'must be an amount in dollars' })
  .refine((value) => Number.isFinite(value), { message: 'must be an amount in dollars' })
  .refine((value) => value > 0, { message: 'must be more than 0' })
  .refine((value) => value <= MAX_BATCH_CAP_USD, { message: `must be at most ${MAX_BATCH_CAP_USD}` });

const chapterId = z.uuid({ message: 'must be a chapter id (a UUID)' });

export const GenerateChapterSchema = z.strictObject(
  { chapter_id: chapterId, ...generationOptions },
  {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : undefined),
  },
);

export const BatchGenerateSchema = z.strictObject(
  {
    chapter_ids: z
      .array(chapterId, { message: 'must be a list of chapter ids' })
      .min(1, { message: 'must name at least one chapter' })
      .max(MAX_BATCH_SIZE, { message: `must name at most ${MAX_BATCH_SIZE} chapters` })
      .refine((ids) => new Set(ids).size === ids.length, { message: 'must not name a chapter twice' }),
    name: safeText.trim().min(1).max(200).optional(),
    max_cost_usd: maxCostUsd.optional(),
    ...generationOptions,
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : undefined) },
);

export type GenerateChapterInput = z.infer<typeof GenerateChapterSchema>;
export type BatchGenerateInput = z.infer<typeof BatchGenerateSchema>;
