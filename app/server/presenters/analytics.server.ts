import { histogramPercentile, mergeHistograms } from '~/domain/latency';

import type { Queryable } from '../db/port.server';

/** A date range of whole UTC days, inclusive. */
export interface DayRange {
  from: string;
  to: string;
}

interface RollupRow {
  day: string;
  destination: 'edge' | 'cloud';
  model: string;
  jobs_finished: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  cost_input_micros: number;
  cost_output_micros: number;
  cost_cache_write_micros: number;
  cost_cache_read_micros: number;
  cost_cloud_run_micros: number;
  cost_vercel_micros: number;
  cost_total_micros: number;
  e2e_hist: number[];
  ttft_hist: number[];
  queue_hist: number[];
}

/**
 * Rollup rows for a range: finished days from job_daily_rollups, and today (which the rollups
 * do not hold yet) computed live by the same SQL from the jobs that finished today.
 */
export async function loadRollups(db: Queryable, range: DayRange): Promise<RollupRow[]> {
  const rows = await db.query<Omit<RollupRow, 'day'> & { day: Date | string }>(
    `select * from public.job_daily_rollups where day between $1::date and least($2::date, (now() at time zone 'utc')::date - 1)
     union all
     select * from public.job_rollup_rows(
       (now() at time zone 'utc')::date::timestamp at time zone 'utc',
       ((now() at time zone 'utc')::date + 1)::timestamp at time zone 'utc'
     ) where $2::date >= (now() at time zone 'utc')::date and $1::date <= (now() at time zone 'utc')::date
     order by 1`,
    [range.from, range.to],
  );
  return rows.map((row) => ({
    ...row,
    day: typeof row.day === 'string' ? row.day.slice(0, 10) : row.day.toISOString().slice(0, 10),
  }));
}

export interface ConfigMarker {
  day: string;
  version: number;
  label: string;
}

/** Published config versions in the range, to mark on charts. */
export async function loadConfigMarkers(db: Queryable, range: DayRange): Promise<ConfigMarker[]> {
  const rows = await db.query<{ version: number; comment: string; published_at: Date }>(
    `select version, comment, published_at from public.control_config_versions
     where published_at >= $1::date and published_at < $2::date + 1 order by published_at`,
    [range.from, range.to],
  );
  return rows.map((row) => ({
    day: row.published_at.toISOString().slice(0, 10),
    version: row.version,
    label: `v${row.version}: ${row.comment}`,
  }));
}

export function daysOf(range: DayRange): string[] {
  const days: string[] = [];
  for (
    let day = new Date(`${range.from}T00:00:00Z`);
    day <= new Date(`${range.to}T00:00:00Z`);
    day.setUTCDate(day.getUTCDate() + 1)
  ) {
    days.push(day.toISOString().slice(0, 10));
  }
  return days;
}

export async function presentCosts(db: Queryable, range: DayRange, now = new Date()) {
  const [rows, markers, [budget], [month]] = await Promise.all([
    loadRollups(db, range),
    loadConfigMarkers(db, range),
    db.query<{ amount_micros: number }>(
      `select amount_micros from public.cost_budgets where month = date_trunc('month', $1::timestamptz at time zone 'utc')::date`,
      [now],
    ),
    db.query<{ spent: number }>(
      `select coalesce(sum(cost_total_micros), 0) as spent from public.job_daily_rollups
       where day >= date_trunc('month', $1::timestamptz at time zone 'utc')::date and day < ($1::timestamptz at time zone 'utc')::date`,
      [now],
    ),
  ]);
  const today = await loadRollups(db, { from: now.toISOString().slice(0, 10), to: now.toISOString().slice(0, 10) });
  const days = daysOf(range).map((day) => {
    const ofDay = rows.filter((row) => row.day === day);
    const sum = (key: keyof RollupRow) => ofDay.reduce((total, row) => total + (row[key] as number), 0);
    const succeeded = sum('succeeded');
    return {
      day,
      input: sum('cost_input_micros'),
      output: sum('cost_output_micros'),
      cacheWrite: sum('cost_cache_write_micros'),
      cacheRead: sum('cost_cache_read_micros'),
      cloudRun: sum('cost_cloud_run_micros'),
      vercel: sum('cost_vercel_micros'),
      total: sum('cost_total_micros'),
      edge: ofDay.filter((row) => row.destination === 'edge').reduce((total, row) => total + row.cost_total_micros, 0),
      cloud: ofDay
        .filter((row) => row.destination === 'cloud')
        .reduce((total, row) => total + row.cost_total_micros, 0),
      chaptersSucceeded: succeeded,
      perChapter: succeeded > 0 ? Math.round(sum('cost_total_micros') / succeeded) : null,
    };
  });
  const models = new Map<string, { model: string; total: number; jobs: number }>();
  for (const row of rows) {
    const entry = models.get(row.model) ?? { model: row.model, total: 0, jobs: 0 };
    entry.total += row.cost_total_micros;
    entry.jobs += row.jobs_finished;
    models.set(row.model, entry);
  }
  const monthToDate = month.spent + today.reduce((total, row) => total + row.cost_total_micros, 0);
  const dayOfMonth = now.getUTCDate();
  const daysInMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
  const elapsed = dayOfMonth - 1 + (now.getUTCHours() * 60 + now.getUTCMinutes()) / 1440;
  return {
    range,
    days,
    byModel: [...models.values()].sort((a, b) => b.total - a.total),
    totalMicros: days.reduce((total, day) => total + day.total, 0),
    month: {
      start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 10),
      spentMicros: monthToDate,
      budgetMicros: budget?.amount_micros ?? null,
      projectedMicros: elapsed > 0 ? Math.round((monthToDate / elapsed) * daysInMonth) : monthToDate,
    },
    markers,
  };
}

export async function presentLatency(db: Queryable, range: DayRange) {
  const [rows, markers, [queue]] = await Promise.all([
    loadRollups(db, range),
    loadConfigMarkers(db, range),
    db.query<{ depth: number; oldest: Date | null }>(
      `select count(*) as depth, min(created_at) as oldest from public.chapter_content_jobs where status = 'pending'`,
    ),
  ]);
  const days = daysOf(range).map((day) => {
    const ofDay = rows.filter((row) => row.day === day);
    const point: Record<string, number | string | null> = { day };
    for (const destination of ['edge', 'cloud'] as const) {
      const mine = ofDay.filter((row) => row.destination === destination);
      const e2e = mergeHistograms(mine.map((row) => row.e2e_hist));
      const ttft = mergeHistograms(mine.map((row) => row.ttft_hist));
      point[`${destination}P50`] = histogramPercentile(e2e, 50);
      point[`${destination}P95`] = histogramPercentile(e2e, 95);
      point[`${destination}P99`] = histogramPercentile(e2e, 99);
      point[`${destination}TtftP50`] = histogramPercentile(ttft, 50);
      point[`${destination}TtftP95`] = histogramPercentile(ttft, 95);
    }
    const queueHist = mergeHistograms(ofDay.map((row) => row.queue_hist));
    const finished = ofDay.reduce((total, row) => total + row.jobs_finished, 0);
    const failed = ofDay.reduce((total, row) => total + row.failed, 0);
    point.queueP50 = histogramPercentile(queueHist, 50);
    point.queueP95 = histogramPercentile(queueHist, 95);
    point.finished = finished;
    point.failureRate = finished > 0 ? Math.round((failed / finished) * 1000) / 10 : 0;
    return point;
  });
  return { range, days, markers, queue: { depth: queue.depth, oldest: queue.oldest } };
}

/** The default range: the last 30 days, today included. */
export function defaultRange(now = new Date()): DayRange {
  const from = new Date(now);
  from.setUTCDate(from.getUTCDate() - 29);
  return { from: from.toISOString().slice(0, 10), to: now.toISOString().slice(0, 10) };
}
