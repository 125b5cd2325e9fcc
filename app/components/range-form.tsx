import { Form } from '@remix-run/react';

/** The date range picker of the Costs and Latency pages (a GET form: the range is in the URL). */
export function RangeForm({ range }: { range: { from: string; to: string } }) {
  return (
    <Form method="get" className="panel inline-form range-form" aria-label="Date range">
      <label>
        From <input type="date" name="from" defaultValue={range.from} />
      </label>
      <label>
        To <input type="date" name="to" defaultValue={range.to} />
      </label>
      <button type="submit" className="button">
        Show
      </button>
    </Form>
  );
}
