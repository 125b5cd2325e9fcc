/**
 * The kinds of job the queue carries and what each one's payload must be. The worker parses a
 * claimed job's payload with these before running it, so a malformed row fails (not retried)
 * with the field named instead of running with a guess.
 */
import { z } from 'zod';

import { safeText } from './input';

export const JOB_KINDS = ['generation', 'analytics'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The longest range an analytics job may cover: a year and a day (a leap year's 366 days). */
export const MAX_ANALYTICS_DAYS = 366;

const isoDay = z.iso.date('must be a day as YYYY-MM-DD');

/** The checks every analytics range gets, wherever it comes from (a payload, the API, a form). */
function validRange<T extends z.ZodType<{ from: string; to: string }>>(schema: T) {
  return schema
    .refine((range) => range.from <= range.to, { message: 'must not be after "to"', path: ['from'] })
    .refine((range) => daysBetween(range.from, range.to) < MAX_ANALYTICS_DAYS, {
      message: `the range may span at most ${MAX_ANALYTICS_DAYS} days`,
      path: ['to'],
    });
}

export const analyticsPayloadSchema = validRange(z.strictObject({ from: isoDay, to: isoDay }));

/** POST /api/analytics/compute and the Learning page's form: a range, and an optional idempotency key. */
export const AnalyticsComputeSchema = validRange(
  z.strictObject({
    from: isoDay,
    to: isoDay,
    idempotency_key: safeText
      .min(1, { message: 'must not be empty' })
      .max(200, { message: 'must be at most 200 characters' })
      .optional(),
  }),
);

export type AnalyticsComputeInput = z.infer<typeof AnalyticsComputeSchema>;

export type AnalyticsPayload = z.infer<typeof analyticsPayloadSchema>;

/** Generation jobs keep everything in their own columns: no payload. */
const payloadSchemas = {
  generation: z.null(),
  analytics: analyticsPayloadSchema,
} satisfies Record<JobKind, z.ZodType>;

export type JobPayload<K extends JobKind> = z.infer<(typeof payloadSchemas)[K]>;

export type ParsedPayload<K extends JobKind> = { ok: true; payload: JobPayload<K> } | { ok: false; message: string };

export function parseJobPayload<K extends JobKind>(kind: K, payload: unknown): ParsedPayload<K> {
  const parsed = payloadSchemas[kind].safeParse(payload ?? null);
  if (parsed.success) return { ok: true, payload: parsed.data as JobPayload<K> };
  return {
    ok: false,
    message: parsed.error.issues
      .map((issue) => `${issue.path.length ? issue.path.join('.') : 'payload'}: ${issue.message}`)
      .join('; '),
  };
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
