/**
 * The data behind each chart of the Costs and Latency pages, as columns and rows, so the chart,
 * its table view and its CSV download are exactly the same numbers.
 */
export interface ChartColumn {
  key: string;
  label: string;
  /** 'usd' values are micro-dollars, shown and exported as dollars; 'count' counts jobs, 'learners' people. */
  unit?: 'usd' | 'ms' | 'count' | 'learners' | 'percent';
}

export interface ChartData {
  id: string;
  title: string;
  columns: ChartColumn[];
  rows: Record<string, string | number | null>[];
}

export function toCsv(chart: ChartData): string {
  const escape = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  const header = chart.columns.map((column) =>
    escape(
      column.unit === 'usd' ? `${column.label} (USD)` : column.unit === 'ms' ? `${column.label} (ms)` : column.label,
    ),
  );
  const lines = chart.rows.map((row) =>
    chart.columns
      .map((column) => {
        const value = row[column.key];
        if (value === null || value === undefined) return '';
        if (column.unit === 'usd') return (Number(value) / 1_000_000).toFixed(6);
        return escape(String(value));
      })
      .join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** Charts over time are bucketed by UTC hour (ranges of up to two days) or UTC day. */
export type BucketUnit = 'hour' | 'day';

/** The time column of a chart: keys are "2026-11-29" (days) or "2026-11-29T13:00Z" (hours), UTC. */
export function bucketColumn(unit: BucketUnit): ChartColumn {
  return { key: 'bucket', label: unit === 'hour' ? 'Hour (UTC)' : 'Day (UTC)' };
}

interface CostsView {
  unit: BucketUnit;
  points: {
    bucket: string;
    input: number;
    output: number;
    cacheWrite: number;
    cacheRead: number;
    cloudRun: number;
    vercel: number;
    total: number;
    edge: number;
    cloud: number;
    batch: number;
    chaptersSucceeded: number;
    perChapter: number | null;
  }[];
  /** `jobs` counts attempts; `unpriced` those whose model had no price (their cost is unknown, not $0). */
  byModel: { model: string; total: number; jobs: number; unpriced: number }[];
}

export function costCharts(view: CostsView): ChartData[] {
  const time = bucketColumn(view.unit);
  return [
    {
      id: 'daily',
      title: view.unit === 'hour' ? 'Hourly cost by component' : 'Daily cost by component',
      columns: [
        time,
        { key: 'input', label: 'Input tokens', unit: 'usd' },
        { key: 'output', label: 'Output tokens', unit: 'usd' },
        { key: 'cacheWrite', label: 'Cache writes', unit: 'usd' },
        { key: 'cacheRead', label: 'Cache reads', unit: 'usd' },
        { key: 'cloudRun', label: 'Cloud Run compute', unit: 'usd' },
        { key: 'vercel', label: 'Vercel functions', unit: 'usd' },
        { key: 'total', label: 'Total', unit: 'usd' },
      ],
      rows: view.points,
    },
    {
      id: 'destination',
      title: 'Cost by destination',
      columns: [
        time,
        { key: 'edge', label: 'Edge', unit: 'usd' },
        { key: 'cloud', label: 'Cloud', unit: 'usd' },
        { key: 'batch', label: 'Batch (half price)', unit: 'usd' },
      ],
      rows: view.points.map(({ bucket, edge, cloud, batch }) => ({ bucket, edge, cloud, batch })),
    },
    {
      id: 'model',
      title: 'Cost by model',
      columns: [
        { key: 'model', label: 'Model' },
        { key: 'jobs', label: 'Attempts', unit: 'count' },
        { key: 'total', label: 'Cost', unit: 'usd' },
        { key: 'unpriced', label: 'Unpriced attempts (cost unknown)', unit: 'count' },
      ],
      rows: view.byModel,
    },
    {
      id: 'per-chapter',
      title: 'Cost per generated chapter',
      columns: [
        time,
        { key: 'chaptersSucceeded', label: 'Chapters generated', unit: 'count' },
        { key: 'perChapter', label: 'Cost per chapter', unit: 'usd' },
      ],
      rows: view.points.map(({ bucket, chaptersSucceeded, perChapter }) => ({ bucket, chaptersSucceeded, perChapter })),
    },
  ];
}

export function latencyCharts(view: {
  unit: BucketUnit;
  points: Record<string, number | string | null>[];
}): ChartData[] {
  const time = bucketColumn(view.unit);
  const pick = (keys: string[]) =>
    view.points.map((point) => Object.fromEntries(['bucket', ...keys].map((key) => [key, point[key] ?? null])));
  return [
    {
      id: 'e2e',
      title: 'End-to-end latency by destination',
      columns: [
        time,
        { key: 'cloudP50', label: 'Cloud p50', unit: 'ms' },
        { key: 'cloudP95', label: 'Cloud p95', unit: 'ms' },
        { key: 'cloudP99', label: 'Cloud p99', unit: 'ms' },
        { key: 'edgeP50', label: 'Edge p50', unit: 'ms' },
        { key: 'edgeP95', label: 'Edge p95', unit: 'ms' },
        { key: 'edgeP99', label: 'Edge p99', unit: 'ms' },
      ],
      rows: pick(['cloudP50', 'cloudP95', 'cloudP99', 'edgeP50', 'edgeP95', 'edgeP99']),
    },
    {
      id: 'ttft',
      title: 'Time to first token',
      columns: [
        time,
        { key: 'cloudTtftP50', label: 'Cloud p50', unit: 'ms' },
        { key: 'cloudTtftP95', label: 'Cloud p95', unit: 'ms' },
        { key: 'edgeTtftP50', label: 'Edge p50', unit: 'ms' },
        { key: 'edgeTtftP95', label: 'Edge p95', unit: 'ms' },
      ],
      rows: pick(['cloudTtftP50', 'cloudTtftP95', 'edgeTtftP50', 'edgeTtftP95']),
    },
    {
      id: 'queue',
      title: 'Queue wait',
      columns: [time, { key: 'queueP50', label: 'p50', unit: 'ms' }, { key: 'queueP95', label: 'p95', unit: 'ms' }],
      rows: pick(['queueP50', 'queueP95']),
    },
    {
      id: 'throughput',
      title: 'Throughput and failure rate',
      columns: [
        time,
        { key: 'finished', label: 'Jobs finished', unit: 'count' },
        { key: 'failureRate', label: 'Failure rate', unit: 'percent' },
      ],
      rows: pick(['finished', 'failureRate']),
    },
  ];
}
