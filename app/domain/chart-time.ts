/**
 * Labels of chart buckets. Buckets are UTC days ("2026-11-29") or UTC hours ("2026-11-29T13:00Z")
 * and are labelled in UTC with an explicit time zone, so the server's render and the browser's
 * hydration produce the same text wherever either runs.
 */
import type { BucketUnit } from './chart-data';

const dayFormat = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric' });
const hourFormat = new Intl.DateTimeFormat('en-US', {
  timeZone: 'UTC',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function parseBucket(key: string): Date | null {
  const at = new Date(key.length === 10 ? `${key}T00:00:00Z` : key.replace(/Z$/, ':00Z'));
  return Number.isNaN(at.getTime()) ? null : at;
}

/** A short axis tick: "Nov 29" for a day; "13:00" for an hour, "Nov 29" at midnight. */
export function bucketTick(key: string, unit: BucketUnit): string {
  const at = parseBucket(key);
  if (!at) return key;
  if (unit === 'day' || at.getUTCHours() === 0) return dayFormat.format(at);
  return hourFormat.format(at);
}

/** The full name of a bucket, for tooltips: "Nov 29 (UTC)" or "Nov 29, 13:00–14:00 UTC". */
export function bucketTitle(key: string, unit: BucketUnit): string {
  const at = parseBucket(key);
  if (!at) return key;
  if (unit === 'day') return `${dayFormat.format(at)} (UTC)`;
  const end = new Date(at.getTime() + 3_600_000);
  return `${dayFormat.format(at)}, ${hourFormat.format(at)}–${hourFormat.format(end)} UTC`;
}
