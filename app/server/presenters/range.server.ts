import { calendarDate } from '~/domain/input';

import { defaultRange, type DayRange } from './analytics.server';

/** ?from=&to= as whole UTC days; the last 30 days when absent or wrong, at most 400 days. */
export function parseRange(params: URLSearchParams, now = new Date()): DayRange {
  const fallback = defaultRange(now);
  const from = calendarDate.safeParse(params.get('from')).data ?? fallback.from;
  const to = calendarDate.safeParse(params.get('to')).data ?? fallback.to;
  if (from > to) return fallback;
  const span = (new Date(to).getTime() - new Date(from).getTime()) / 86_400_000;
  return span > 400 ? fallback : { from, to };
}
