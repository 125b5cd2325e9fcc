import { useState } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

import type { BucketUnit, ChartColumn, ChartData } from '~/domain/chart-data';
import { bucketTick, bucketTitle } from '~/domain/chart-time';

import { formatCount, formatMicros } from './format';

const MARGIN = { top: 10, right: 20, bottom: 0, left: 10 };
const COLORS = ['#2f5bea', '#1f8a4c', '#b7791f', '#8b5cf6', '#c53030', '#0e7490', '#64748b'];
const MARKER_COLOR = '#c53030';

/** Config versions published in one bucket (the presenter groups them). */
export interface Marker {
  bucket: string;
  label: string;
  detail: string;
}

/**
 * One chart with its table view and its CSV download: the same rows feed all three. Amounts in
 * micro-dollars are drawn in dollars; every y-axis names its unit. Config changes are vertical
 * markers, one per bucket, listed under the chart in full. Whether the chart is empty depends on
 * the jobs in the range (`jobs`), never on the values: offline jobs cost $0 and still happened.
 */
export function ChartPanel(props: {
  chart: ChartData;
  kind: 'stacked-bar' | 'bar' | 'line';
  csvHref: string;
  /** Jobs finished in the range: none means the empty state. */
  jobs: number;
  /** Said under the chart when there are jobs but every drawn value is zero or missing. */
  zeroNote?: string;
  unit?: BucketUnit;
  markers?: Marker[];
  xKey?: string;
  series?: string[];
}) {
  const { chart } = props;
  const [view, setView] = useState<'chart' | 'table'>('chart');
  const xKey = props.xKey ?? 'bucket';
  const timeAxis = xKey === 'bucket' && props.unit !== undefined;
  const unit = props.unit ?? 'day';
  const series =
    props.series ??
    chart.columns.filter((column) => column.key !== xKey && column.key !== 'total').map((column) => column.key);
  const unitOf = (key: string) => chart.columns.find((column) => column.key === key)?.unit;
  const labelOf = (key: string) => chart.columns.find((column) => column.key === key)?.label ?? key;
  const data = chart.rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([key, value]) => [
        key,
        unitOf(key) === 'usd' && typeof value === 'number' ? value / 1_000_000 : value,
      ]),
    ),
  );
  const values = data.flatMap((row) => series.map((key) => row[key])).filter((v): v is number => typeof v === 'number');
  const axis = yAxisOf(unitOf(series[0]), Math.max(0, ...values));
  const format = (value: unknown) => (typeof value === 'number' ? axis.format(value) : String(value ?? '—'));
  // Recharts finds its parts among the chart's direct children, so these are arrays, not a component.
  const frame = [
    <CartesianGrid key="grid" strokeDasharray="3 3" stroke="#e3e6ea" />,
    <XAxis
      key="x"
      dataKey={xKey}
      fontSize={12}
      // A lone point (one day of data) sits inside the plot, not on its edge.
      padding={props.kind === 'line' ? { left: 16, right: 16 } : undefined}
      tickFormatter={timeAxis ? (key: string) => bucketTick(key, unit) : undefined}
      minTickGap={16}
    />,
    <YAxis
      key="y"
      fontSize={12}
      tickFormatter={(value: number) => axis.format(value)}
      width={80}
      label={{ value: axis.label, angle: -90, position: 'insideLeft', fontSize: 12, fill: '#4a5568' }}
    />,
    <Tooltip
      key="tooltip"
      formatter={(value) => format(value)}
      labelFormatter={(label) => (timeAxis ? bucketTitle(String(label), unit) : String(label))}
    />,
    <Legend key="legend" />,
  ];
  const markers = props.markers ?? [];
  const markerLines = markers.map((marker, i) => (
    <ReferenceLine
      key={marker.bucket}
      x={marker.bucket}
      stroke={MARKER_COLOR}
      strokeDasharray="4 2"
      // Neighbouring markers' labels are staggered down the line so they never print on each other.
      label={(labelProps: { viewBox?: { x?: number; y?: number } }) => (
        <g>
          <title>{marker.detail}</title>
          <text
            x={(labelProps.viewBox?.x ?? 0) + 4}
            y={(labelProps.viewBox?.y ?? 0) + 12 + (i % 3) * 14}
            fontSize={11}
            fill={MARKER_COLOR}
          >
            {marker.label}
          </text>
        </g>
      )}
    />
  ));
  const drawsSomething = values.some((value) => value > 0);

  return (
    <section className="panel chart-panel" aria-labelledby={`chart-${chart.id}`}>
      <header className="chart-header">
        <h2 id={`chart-${chart.id}`}>{chart.title}</h2>
        <div className="inline-form" role="group" aria-label={`${chart.title}: view`}>
          <button
            type="button"
            className="button-quiet"
            aria-pressed={view === 'chart'}
            onClick={() => setView('chart')}
          >
            Chart
          </button>
          <button
            type="button"
            className="button-quiet"
            aria-pressed={view === 'table'}
            onClick={() => setView('table')}
          >
            Table
          </button>
          <a className="button-quiet" href={props.csvHref} download>
            CSV
          </a>
        </div>
      </header>
      {view === 'chart' && props.jobs > 0 && markers.length > 0 ? (
        <p className="chart-markers">
          Config changes:{' '}
          {markers.map((marker, i) => (
            <span key={marker.bucket}>
              {i > 0 ? '; ' : null}
              <time dateTime={marker.bucket}>{timeAxis ? bucketTitle(marker.bucket, unit) : marker.bucket}</time>{' '}
              {marker.detail}
            </span>
          ))}
        </p>
      ) : null}
      {view === 'chart' ? (
        props.jobs > 0 ? (
          <div
            className="chart"
            role="img"
            aria-label={`${chart.title} (${axis.label}), ${chart.rows.length} points; use the table view for the values`}
          >
            <ResponsiveContainer width="100%" height={260}>
              {props.kind === 'line' ? (
                <LineChart data={data} margin={MARGIN}>
                  {frame}
                  {series.map((key, i) => (
                    <Line
                      key={key}
                      type="monotone"
                      dataKey={key}
                      name={labelOf(key)}
                      stroke={COLORS[i % COLORS.length]}
                      dot={{ r: 4 }}
                      connectNulls
                      isAnimationActive={false}
                    />
                  ))}
                  {markerLines}
                </LineChart>
              ) : (
                <BarChart data={data} margin={MARGIN}>
                  {frame}
                  {series.map((key, i) => (
                    <Bar
                      key={key}
                      dataKey={key}
                      name={labelOf(key)}
                      stackId={props.kind === 'stacked-bar' ? 'a' : undefined}
                      fill={COLORS[i % COLORS.length]}
                      isAnimationActive={false}
                    />
                  ))}
                  {markerLines}
                </BarChart>
              )}
            </ResponsiveContainer>
            {!drawsSomething && props.zeroNote ? <p className="chart-note">{props.zeroNote}</p> : null}
          </div>
        ) : (
          <p className="empty">No jobs finished in this range.</p>
        )
      ) : (
        <div className="table-scroll">
          <table className="table compact">
            <caption className="visually-hidden">{chart.title}</caption>
            <thead>
              <tr>
                {chart.columns.map((column) => (
                  <th key={column.key} scope="col" className={column.unit ? 'num' : undefined}>
                    {column.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {chart.rows.map((row, i) => (
                <tr key={i}>
                  {chart.columns.map((column) => {
                    const value = row[column.key];
                    return (
                      <td key={column.key} className={column.unit ? 'num' : undefined}>
                        {value === null || value === undefined
                          ? '—'
                          : column.key === 'bucket' && timeAxis
                            ? bucketTitle(String(value), unit)
                            : column.unit === 'usd'
                              ? formatMicros(Number(value))
                              : column.unit === 'ms'
                                ? `${formatCount(Number(value))} ms`
                                : column.unit === 'percent'
                                  ? `${value}%`
                                  : typeof value === 'number'
                                    ? formatCount(value)
                                    : value}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The y-axis of a chart: what its unit is called and how its ticks read. */
function yAxisOf(unit: ChartColumn['unit'], max: number): { label: string; format: (value: number) => string } {
  switch (unit) {
    case 'usd':
      return {
        label: 'USD',
        // Cents for most ticks; two significant digits (no trailing zeros) for fractions of a cent.
        format: (value) => `$${value >= 0.1 || value === 0 ? value.toFixed(2) : Number(value.toPrecision(2))}`,
      };
    case 'ms':
      // Seconds read better than thousands of milliseconds.
      return max >= 2000
        ? { label: 'seconds', format: (value) => `${formatCount(Math.round(value / 100) / 10)} s` }
        : { label: 'milliseconds', format: (value) => `${formatCount(value)} ms` };
    case 'percent':
      return { label: 'percent', format: (value) => `${value}%` };
    case 'count':
      return { label: 'jobs', format: (value) => formatCount(value) };
    case 'learners':
      return { label: 'learners', format: (value) => formatCount(value) };
    default:
      return { label: '', format: (value) => formatCount(value) };
  }
}
