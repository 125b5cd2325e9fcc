import type { Queryable } from '../db/port.server';
import type { DayRange } from './analytics.server';

export interface RouteLatencyRow {
  route: string;
  method: string;
  destination: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
}

/**
 * p50 and p95 per edge route (profile, progress) over a range of UTC days, from the samples the
 * handlers record after routeRequest decided where they go (`api_route_samples`).
 */
export async function presentRouteLatency(db: Queryable, range: DayRange): Promise<RouteLatencyRow[]> {
  const rows = await db.query<{
    route: string;
    method: string;
    destination: string;
    requests: number;
    errors: number;
    p50: number;
    p95: number;
  }>(
    `select route, method, destination, count(*)::int as requests,
            count(*) filter (where status >= 500)::int as errors,
            percentile_cont(0.5) within group (order by latency_ms) as p50,
            percentile_cont(0.95) within group (order by latency_ms) as p95
     from public.api_route_samples
     where at >= $1::date::timestamp at time zone 'utc' and at < ($2::date + 1)::timestamp at time zone 'utc'
     group by route, method, destination
     order by route, method, destination`,
    [range.from, range.to],
  );
  return rows.map((row) => ({
    route: row.route,
    method: row.method,
    destination: row.destination,
    requests: row.requests,
    errors: row.errors,
    p50Ms: Math.round(Number(row.p50) * 10) / 10,
    p95Ms: Math.round(Number(row.p95) * 10) / 10,
  }));
}
