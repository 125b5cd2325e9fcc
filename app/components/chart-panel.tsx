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

import type { ChartData } from '~/domain/chart-data';

import { formatCount, formatMicros } from './format';

const MARGIN = { top: 10, right: 20, bottom: 0, left: 10 };
const COLORS = ['#2f5bea', '#1f8a4c', '#b7791f', '#8b5cf6', '#c53030', '#0e7490', '#64748b'];

export interface Marker {
  day: string;
  label: string;
}

/**
 * One chart with its table view and its CSV download: the same rows feed all three. Amounts in
 * micro-dollars are drawn in dollars. Config changes are drawn as vertical markers.
 */
export function ChartPanel(props: {
  chart: ChartData;
  kind: 'stacked-bar' | 'bar' | 'line';
  csvHref: string;
  markers?: Marker[];
  xKey?: string;
  series?: string[];
}) {
  const { chart } = props;
  const [view, setView] = useState<'chart' | 'table'>('chart');
  const xKey = props.xKey ?? 'day';
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
  const usd = series.some((key) => unitOf(key) === 'usd');
  const format = (value: unknown) =>
    typeof value !== 'number' ? String(value ?? '—') : usd ? `$${value.toFixed(4)}` : formatCount(value);
  // Recharts finds its parts among the chart's direct children, so these are arrays, not a component.
  const frame = [
    <CartesianGrid key="grid" strokeDasharray="3 3" stroke="#e3e6ea" />,
    <XAxis key="x" dataKey={xKey} fontSize={12} />,
    <YAxis key="y" fontSize={12} tickFormatter={format} width={80} />,
    <Tooltip key="tooltip" formatter={(value) => format(value)} />,
    <Legend key="legend" />,
  ];
  const markerLines = props.markers?.map((marker) => (
    <ReferenceLine
      key={marker.label}
      x={marker.day}
      stroke="#c53030"
      strokeDasharray="4 2"
      label={{ value: marker.label.split(':')[0], fontSize: 11, fill: '#c53030' }}
    />
  ));
  const hasData = chart.rows.some((row) =>
    series.some((key) => typeof row[key] === 'number' && (row[key] as number) > 0),
  );

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
      {view === 'chart' ? (
        hasData ? (
          <div
            className="chart"
            role="img"
            aria-label={`${chart.title}, ${chart.rows.length} points; use the table view for the values`}
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
                      dot={{ r: 3 }}
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
          </div>
        ) : (
          <p className="empty">No finished jobs in this range yet.</p>
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
