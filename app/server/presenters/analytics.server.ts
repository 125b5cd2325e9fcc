import type { BucketUnit } from '~/domain/chart-data';
import { histogramPercentile, mergeHistograms } from '~/domain/latency';
import type { Destination } from '~/domain/job-status';

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

/** Chart buckets are UTC hours for ranges of up to two days, UTC days beyond (ADR 0008). */
export const HOURLY_MAX_DAYS = 2;

export function bucketUnitOf(range: DayRange): BucketUnit {
  const days = (Date.parse(`${range.to}T00:00:00Z`) - Date.parse(`${range.from}T00:00:00Z`)) / 86_400_000 + 1;
  return days <= HOURLY_MAX_DAYS ? 'hour' : 'day';
}

/** A bucket's key: "2026-11-29" for a day, "2026-11-29T13:00Z" for an hour (both UTC). */
export function bucketKey(at: Date, unit: BucketUnit): string {
  const iso = at.toISOString();
  return unit === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00Z`;
}

/**
 * Every bucket of the range, empty ones included, so gaps show as gaps. Hourly ranges stop at the
 * current hour: the hours still to come are not zero, they have not happened yet.
 */
export function bucketsOf(range: DayRange, unit: BucketUnit, now = new Date()): string[] {
  if (unit === 'day') return daysOf(range);
  const keys: string[] = [];
  const end = Math.min(Date.parse(`${range.to}T00:00:00Z`) + 86_400_000, now.getTime());
  for (let at = Date.parse(`${range.from}T00:00:00Z`); at < end; at += 3_600_000) {
    keys.push(bucketKey(new Date(at), 'hour'));
  }
  return keys;
}

type BucketRow = Omit<RollupRow, 'day'> & { bucket: string };

/**
 * Rollup rows by bucket. Days: the daily rollups plus today live (loadRollups). Hours: computed
 * live from the jobs that finished in the range, which is at most two days of jobs.
 */
export async function loadBuckets(db: Queryable, range: DayRange, unit: BucketUnit): Promise<BucketRow[]> {
  if (unit === 'day') {
    return (await loadRollups(db, range)).map(({ day, ...row }) => ({ ...row, bucket: day }));
  }
  const rows = await db.query<Omit<RollupRow, 'day'> & { bucket: Date }>(
    `select * from public.job_rollup_buckets($1::date::timestamp at time zone 'utc',
       ($2::date + 1)::timestamp at time zone 'utc', 'hour')`,
    [range.from, range.to],
  );
  return rows.map((row) => ({ ...row, bucket: bucketKey(new Date(row.bucket), 'hour') }));
}

export interface ConfigMarker {
  /** The bucket the versions were published in. */
  bucket: string;
  /** Short text drawn on the chart: "v3", or "v3–v5 (3)" when several share a bucket. */
  label: string;
  /** Every version of the bucket with its comment, for the tooltip and the list under the chart. */
  detail: string;
}

/**
 * Published config versions in the range, to mark on charts: one marker per bucket, so versions
 * published close together read as one group instead of labels drawn on top of each other.
 */
export async function loadConfigMarkers(db: Queryable, range: DayRange, unit: BucketUnit): Promise<ConfigMarker[]> {
  const rows = await db.query<{ version: number; comment: string; published_at: Date }>(
    `select version, comment, published_at from public.control_config_versions
     where published_at >= $1::date::timestamp at time zone 'utc'
       and published_at < ($2::date + 1)::timestamp at time zone 'utc'
     order by published_at, version`,
    [range.from, range.to],
  );
  return groupMarkers(
    rows.map((row) => ({
      bucket: bucketKey(new Date(row.published_at), unit),
      version: row.version,
      comment: row.comment,
    })),
  );
}

export function groupMarkers(versions: { bucket: string; version: number; comment: string }[]): ConfigMarker[] {
  const groups = new Map<string, { version: number; comment: string }[]>();
  for (const { bucket, ...version } of versions) groups.set(bucket, [...(groups.get(bucket) ?? []), version]);
  return [...groups].map(([bucket, group]) => ({
    bucket,
    label:
      group.length === 1
        ? `v${group[0].version}`
        : `v${group[0].version}–v${group[group.length - 1].version} (${group.length})`,
    detail: group.map((version) => `v${version.version}${version.comment ? `: ${version.comment}` : ''}`).join('; '),
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

/** Whether any made-up demo history (npm start's demo seed) finished in the range. */
async function rangeHasDemoHistory(db: Queryable, range: DayRange): Promise<boolean> {
  const [row] = await db.query<{ demo: boolean }>(
    `select exists (select 1 from public.chapter_content_jobs where is_demo
       and finished_at >= $1::date::timestamp at time zone 'utc'
       and finished_at < ($2::date + 1)::timestamp at time zone 'utc') as demo`,
    [range.from, range.to],
  );
  return row.demo;
}

/** What every chart page knows about its range besides the figures. */
async function presentRange(db: Queryable, range: DayRange, now: Date) {
  const unit = bucketUnitOf(range);
  const [rows, markers, demo] = await Promise.all([
    loadBuckets(db, range, unit),
    loadConfigMarkers(db, range, unit),
    rangeHasDemoHistory(db, range),
  ]);
  return {
    rows,
    buckets: bucketsOf(range, unit, now),
    view: {
      range,
      unit,
      /** When the figures were read: the pages' "today" and range presets, the same on server and browser. */
      now: now.toISOString(),
      markers,
      demo,
      jobsFinished: rows.reduce((total, row) => total + row.jobs_finished, 0),
    },
  };
}

interface CostRow {
  bucket: string;
  destination: Destination;
  model: string;
  attempts: number;
  succeeded: number;
  unpriced: number;
  cost_input_micros: number;
  cost_output_micros: number;
  cost_cache_write_micros: number;
  cost_cache_read_micros: number;
  cost_cloud_run_micros: number;
  cost_vercel_micros: number;
  cost_total_micros: number;
}

/**
 * Cost rows from the attempt ledger, by the attempts' start (ADR 0013): finished days from
 * attempt_daily_costs, today and hourly ranges live from job_attempts. An attempt is counted
 * once, on the day it was spent, whatever happened to its job afterwards.
 */
export async function loadCostBuckets(db: Queryable, range: DayRange, unit: BucketUnit): Promise<CostRow[]> {
  const columns = `destination, model, attempts, succeeded, unpriced, cost_input_micros, cost_output_micros,
    cost_cache_write_micros, cost_cache_read_micros, cost_cloud_run_micros, cost_vercel_micros, cost_total_micros`;
  const rows =
    unit === 'day'
      ? await db.query<Omit<CostRow, 'bucket'> & { bucket: Date | string }>(
          `select day as bucket, ${columns} from public.attempt_daily_costs
           where day between $1::date and least($2::date, (now() at time zone 'utc')::date - 1)
           union all
           select bucket, ${columns} from public.attempt_cost_buckets(
             (now() at time zone 'utc')::date::timestamp at time zone 'utc',
             ((now() at time zone 'utc')::date + 1)::timestamp at time zone 'utc', 'day'
           ) where $2::date >= (now() at time zone 'utc')::date and $1::date <= (now() at time zone 'utc')::date`,
          [range.from, range.to],
        )
      : await db.query<Omit<CostRow, 'bucket'> & { bucket: Date }>(
          `select bucket, ${columns} from public.attempt_cost_buckets($1::date::timestamp at time zone 'utc',
             ($2::date + 1)::timestamp at time zone 'utc', 'hour')`,
          [range.from, range.to],
        );
  return rows.map((row) => ({
    ...row,
    bucket: typeof row.bucket === 'string' ? row.bucket.slice(0, 10) : bucketKey(new Date(row.bucket), unit),
  }));
}

/** Month to date from the ledger: the finished days' rollups plus today's attempts. */
async function monthToDateMicros(db: Queryable, now: Date): Promise<number> {
  const [row] = await db.query<{ spent: number }>(
    `select coalesce((select sum(cost_total_micros) from public.attempt_daily_costs
              where day >= date_trunc('month', $1::timestamptz at time zone 'utc')::date
                and day < ($1::timestamptz at time zone 'utc')::date), 0)
          + coalesce((select sum(cost_total_micros) from public.job_attempts
              where started_at >= ($1::timestamptz at time zone 'utc')::date::timestamp at time zone 'utc'), 0) as spent`,
    [now],
  );
  return Number(row.spent);
}

export async function presentCosts(db: Queryable, range: DayRange, now = new Date()) {
  const unit = bucketUnitOf(range);
  const [{ buckets, view }, rows, [budget], monthToDate] = await Promise.all([
    presentRange(db, range, now),
    loadCostBuckets(db, range, unit),
    db.query<{ amount_micros: number }>(
      `select amount_micros from public.cost_budgets where month = date_trunc('month', $1::timestamptz at time zone 'utc')::date`,
      [now],
    ),
    monthToDateMicros(db, now),
  ]);
  const points = buckets.map((bucket) => {
    const ofBucket = rows.filter((row) => row.bucket === bucket);
    const sum = (key: keyof CostRow) => ofBucket.reduce((total, row) => total + Number(row[key]), 0);
    const succeeded = sum('succeeded');
    return {
      bucket,
      attempts: sum('attempts'),
      unpriced: sum('unpriced'),
      input: sum('cost_input_micros'),
      output: sum('cost_output_micros'),
      cacheWrite: sum('cost_cache_write_micros'),
      cacheRead: sum('cost_cache_read_micros'),
      cloudRun: sum('cost_cloud_run_micros'),
      vercel: sum('cost_vercel_micros'),
      total: sum('cost_total_micros'),
      edge: ofBucket
        .filter((row) => row.destination === 'edge')
        .reduce((total, row) => total + Number(row.cost_total_micros), 0),
      cloud: ofBucket
        .filter((row) => row.destination === 'cloud')
        .reduce((total, row) => total + Number(row.cost_total_micros), 0),
      batch: ofBucket
        .filter((row) => row.destination === 'batch')
        .reduce((total, row) => total + Number(row.cost_total_micros), 0),
      chaptersSucceeded: succeeded,
      perChapter: succeeded > 0 ? Math.round(sum('cost_total_micros') / succeeded) : null,
    };
  });
  const models = new Map<string, { model: string; total: number; jobs: number; unpriced: number }>();
  for (const row of rows) {
    const entry = models.get(row.model) ?? { model: row.model, total: 0, jobs: 0, unpriced: 0 };
    entry.total += Number(row.cost_total_micros);
    entry.jobs += Number(row.attempts);
    entry.unpriced += Number(row.unpriced);
    models.set(row.model, entry);
  }
  const dayOfMonth = now.getUTCDate();
  const daysInMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
  const elapsed = dayOfMonth - 1 + (now.getUTCHours() * 60 + now.getUTCMinutes()) / 1440;
  return {
    ...view,
    points,
    attempts: points.reduce((total, point) => total + point.attempts, 0),
    unpricedAttempts: points.reduce((total, point) => total + point.unpriced, 0),
    byModel: [...models.values()].sort((a, b) => b.total - a.total),
    totalMicros: points.reduce((total, point) => total + point.total, 0),
    month: {
      start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 10),
      spentMicros: monthToDate,
      budgetMicros: budget?.amount_micros ?? null,
      projectedMicros: elapsed > 0 ? Math.round((monthToDate / elapsed) * daysInMonth) : monthToDate,
    },
  };
}

export async function presentLatency(db: Queryable, range: DayRange, now = new Date()) {
  const [{ rows, buckets, view }, [queue]] = await Promise.all([
    presentRange(db, range, now),
    db.query<{ depth: number; oldest: Date | null }>(
      `select count(*) as depth, min(created_at) as oldest from public.chapter_content_jobs where status = 'pending'`,
    ),
  ]);
  const points = buckets.map((bucket) => {
    const ofBucket = rows.filter((row) => row.bucket === bucket);
    const point: Record<string, number | string | null> = { bucket };
    for (const destination of ['edge', 'cloud'] as const) {
      const mine = ofBucket.filter((row) => row.destination === destination);
      const e2e = mergeHistograms(mine.map((row) => row.e2e_hist));
      const ttft = mergeHistograms(mine.map((row) => row.ttft_hist));
      point[`${destination}P50`] = histogramPercentile(e2e, 50);
      point[`${destination}P95`] = histogramPercentile(e2e, 95);
      point[`${destination}P99`] = histogramPercentile(e2e, 99);
      point[`${destination}TtftP50`] = histogramPercentile(ttft, 50);
      point[`${destination}TtftP95`] = histogramPercentile(ttft, 95);
    }
    const queueHist = mergeHistograms(ofBucket.map((row) => row.queue_hist));
    const finished = ofBucket.reduce((total, row) => total + row.jobs_finished, 0);
    const failed = ofBucket.reduce((total, row) => total + row.failed, 0);
    point.queueP50 = histogramPercentile(queueHist, 50);
    point.queueP95 = histogramPercentile(queueHist, 95);
    point.finished = finished;
    point.failureRate = finished > 0 ? Math.round((failed / finished) * 1000) / 10 : 0;
    return point;
  });
  return { ...view, points, queue: { depth: queue.depth, oldest: queue.oldest } };
}

/** The default range: the last 30 days, today included. */
export function defaultRange(now = new Date()): DayRange {
  const from = new Date(now);
  from.setUTCDate(from.getUTCDate() - 29);
  return { from: from.toISOString().slice(0, 10), to: now.toISOString().slice(0, 10) };
}

/**
 * The range a chart page opens on: the last 30 days, or, when every job of those 30 days
 * finished in the last two, just those two days by the hour. A new installation then opens on
 * readable hourly charts instead of one dot at the right edge of a month.
 */
export async function openingRange(db: Queryable, now = new Date()): Promise<DayRange> {
  const month = defaultRange(now);
  const [row] = await db.query<{ first: Date | null }>(
    `select min(finished_at) as first from public.chapter_content_jobs
     where finished_at >= $1::date::timestamp at time zone 'utc'`,
    [month.from],
  );
  const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
  if (!row.first || bucketKey(new Date(row.first), 'day') >= yesterday) {
    return { from: yesterday, to: month.to };
  }
  return month;
}
