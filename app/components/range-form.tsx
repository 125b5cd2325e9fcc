import { Form, Link } from '@remix-run/react';

/** The UTC day a range ends on is today: its last buckets are computed live from the jobs. */
export function rangeIncludesToday(range: { from: string; to: string }, now = new Date()): boolean {
  const today = now.toISOString().slice(0, 10);
  return range.from <= today && today <= range.to;
}

function daysBack(days: number, now: Date): { from: string; to: string } {
  const to = now.toISOString().slice(0, 10);
  const from = new Date(now.getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  return { from, to };
}

/**
 * The date range picker of the Costs and Latency pages (a GET form: the range is in the URL),
 * with the usual ranges one click away. Ranges of up to two days are drawn by the hour.
 */
export function RangeForm({ range, now }: { range: { from: string; to: string }; now: string }) {
  const at = new Date(now);
  const presets = [
    { label: 'Today (hourly)', ...daysBack(1, at) },
    { label: '2 days (hourly)', ...daysBack(2, at) },
    { label: '7 days', ...daysBack(7, at) },
    { label: '30 days', ...daysBack(30, at) },
  ];
  return (
    <Form method="get" className="panel inline-form range-form" aria-label="Date range">
      <label>
        From <input type="date" name="from" defaultValue={range.from} key={`from-${range.from}`} />
      </label>
      <label>
        To <input type="date" name="to" defaultValue={range.to} key={`to-${range.to}`} />
      </label>
      <button type="submit" className="button">
        Show
      </button>
      <span className="range-presets">
        {presets.map((preset) => (
          <Link
            key={preset.label}
            className="button-quiet"
            to={`?from=${preset.from}&to=${preset.to}`}
            aria-current={preset.from === range.from && preset.to === range.to ? 'true' : undefined}
          >
            {preset.label}
          </Link>
        ))}
      </span>
    </Form>
  );
}

/** Said on pages whose figures include npm start's made-up demo history. */
export function DemoHistoryNote({ demo }: { demo: boolean }) {
  if (!demo) return null;
  return (
    <p className="demo-history-note" data-testid="demo-history">
      Includes <strong>demo history</strong>: made-up jobs added by <code>npm start</code> on the embedded database.
      Remove them with <code>npm run demo:remove</code>.
    </p>
  );
}
