/** Formatting shared by pages. Pure: no I/O, no React. */

const usd = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 4,
});

/** Micro-dollars (integers, as stored) to a dollar string. */
export function formatMicros(micros: number): string {
  return usd.format(micros / 1_000_000);
}

const count = new Intl.NumberFormat('en-US');

export function formatCount(value: number): string {
  return count.format(value);
}

/**
 * "3 s ago", "5 min ago", "2 h ago", "4 d ago" from a date (or its ISO string). `now` has no
 * default: pages pass `useNow()` (components/clock.tsx) so the server render and hydration agree.
 */
export function formatAge(date: Date | string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - new Date(date).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

export function formatPercent(part: number, whole: number): string {
  if (whole === 0) return '—';
  return `${((part / whole) * 100).toFixed(1)}%`;
}

/**
 * Absolute times always name their zone explicitly (the viewer's, from the client hint), so the
 * server and the browser write the same text.
 */
export function formatTime(date: Date | string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZone,
  }).format(new Date(date));
}

export function formatDateTime(date: Date | string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    dateStyle: 'medium',
    timeStyle: 'long',
    hourCycle: 'h23',
    timeZone,
  }).format(new Date(date));
}
