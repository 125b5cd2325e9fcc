/**
 * The Jobs page's filters, as URL search params (so a filtered view is a link, and the form
 * works without JavaScript), and the keyset cursor that pages through them.
 */
import { z } from 'zod';

import { calendarDate, int4, int4Text, isoTimestamp, safeText } from './input';
import { JOB_KINDS } from './job-kinds';
import { DESTINATIONS, JOB_STATUSES } from './job-status';

const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** Keyset cursor: the created_at and id of the last row of the previous page, `timestamp|uuid`. */
const cursor = z.string().refine(
  (value) => {
    const [createdAt, id, ...rest] = value.split('|');
    return rest.length === 0 && isoTimestamp.safeParse(createdAt).success && z.uuid().safeParse(id).success;
  },
  { message: 'must be the cursor of a paging link (an ISO timestamp and a job id)' },
);

export const JobFiltersSchema = z.object({
  kind: optional(z.enum(JOB_KINDS, { message: `must be one of ${JOB_KINDS.join(', ')}` })),
  status: optional(z.enum(JOB_STATUSES, { message: `must be one of ${JOB_STATUSES.join(', ')}` })),
  destination: optional(z.enum(DESTINATIONS, { message: `must be one of ${DESTINATIONS.join(', ')}` })),
  batch: optional(z.uuid({ message: 'must be a batch id (a UUID)' })),
  model: optional(safeText.max(100)),
  rule: optional(safeText.max(64)),
  version: optional(int4Text.pipe(int4.min(0, { message: 'must be 0 or more' }))),
  from: optional(calendarDate),
  to: optional(calendarDate),
  q: optional(safeText.trim().max(200)),
  after: optional(cursor),
  /** Paging back: the created_at and id of the first row of the page after (older than) it. */
  before: optional(cursor),
});

export type JobFilters = z.infer<typeof JobFiltersSchema>;

/** The filters in a Jobs URL, or the fields that are wrong (a hand-edited URL, an old link). */
export function parseJobFilters(params: URLSearchParams) {
  return JobFiltersSchema.safeParse(Object.fromEntries(params));
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
