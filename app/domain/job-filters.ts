/**
 * The Jobs page's filters, as URL search params (so a filtered view is a link, and the form
 * works without JavaScript), and the keyset cursor that pages through them.
 */
import { z } from 'zod';

import { DESTINATIONS, JOB_STATUSES } from './job-status';

const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const JobFiltersSchema = z.object({
  status: optional(z.enum(JOB_STATUSES)),
  destination: optional(z.enum(DESTINATIONS)),
  batch: optional(z.uuid()),
  model: optional(z.string().max(100)),
  rule: optional(z.string().max(64)),
  version: optional(z.coerce.number().int().min(0)),
  from: optional(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)),
  to: optional(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)),
  q: optional(z.string().trim().max(200)),
  /** Keyset cursor: the created_at and id of the last row of the previous page. */
  after: optional(z.string().regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z\|[0-9a-f-]{36}$/)),
  /** Keyset cursor paging back: the created_at and id of the first row of the next (older) page. */
  before: optional(z.string().regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z\|[0-9a-f-]{36}$/)),
});

export type JobFilters = z.infer<typeof JobFiltersSchema>;

export function parseJobFilters(params: URLSearchParams): JobFilters {
  const result = JobFiltersSchema.safeParse(Object.fromEntries(params));
  // A hand-edited URL with a bad value shows the unfiltered list rather than an error.
  return result.success ? result.data : {};
}

export function encodeCursor(createdAt: string | Date, id: string): string {
  return `${new Date(createdAt).toISOString()}|${id}`;
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = cursor.split('|');
  return { createdAt, id };
}

export function filtersToSearch(filters: JobFilters, overrides: Partial<JobFilters> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...filters, ...overrides })) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `?${search}` : '';
}
