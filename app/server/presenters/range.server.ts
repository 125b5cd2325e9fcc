import { calendarDate } from '~/domain/input';

import type { Queryable } from '../db/port.server';
import { openingRange, type DayRange } from './analytics.server';

/**
 * ?from=&to= as whole UTC days, at most 400 days. Without them (or with wrong ones: impossible
 * calendar dates included) the page's opening range: the last 30 days, or the last two by the
 * hour when that is all there is.
 */
export async function parseRange(db: Queryable, params: URLSearchParams, now = new Date()): Promise<DayRange> {
  const from = calendarDate.safeParse(params.get('from')).data;
  const to = calendarDate.safeParse(params.get('to')).data;
  if (!from || !to || from > to) return openingRange(db, now);
  const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  return span > 400 ? openingRange(db, now) : { from, to };
}
