/**
 * Latency percentiles from histograms (the daily rollups keep counts per bucket, not values).
 * The bounds must equal public.latency_bucket_bounds_ms() in supabase/migrations (a test checks).
 */
export const LATENCY_BUCKET_BOUNDS_MS = [
  50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 45000, 60000, 90000,
  120000, 180000, 300000, 600000, 900000,
] as const;

export function mergeHistograms(histograms: readonly (readonly number[])[]): number[] {
  const merged = new Array<number>(LATENCY_BUCKET_BOUNDS_MS.length + 1).fill(0);
  for (const histogram of histograms) histogram.forEach((count, i) => (merged[i] += count));
  return merged;
}

/**
 * The p-th percentile (0–100) as the upper bound of the bucket it falls in: never optimistic,
 * at most one bucket (≤ 50%) above the true value. Null without data; the overflow bucket
 * reports its lower bound.
 */
export function histogramPercentile(histogram: readonly number[], p: number): number | null {
  const total = histogram.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i += 1) {
    seen += histogram[i];
    if (seen >= rank)
      return LATENCY_BUCKET_BOUNDS_MS[i] ?? LATENCY_BUCKET_BOUNDS_MS[LATENCY_BUCKET_BOUNDS_MS.length - 1];
  }
  return null;
}
