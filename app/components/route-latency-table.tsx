import { formatCount } from './format';

export interface RouteLatency {
  route: string;
  method: string;
  destination: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
}

/** The edge routes' own latency (time inside the handler, after routing), one row per route and method. */
export function RouteLatencyTable({ rows }: { rows: RouteLatency[] }) {
  return (
    <section className="panel">
      <h2>Edge routes</h2>
      {rows.length === 0 ? (
        <p className="muted">
          No requests to <code>/api/chapters/:id</code>, <code>/api/user/profile</code> or{' '}
          <code>/api/progress/update</code> in this range.
        </p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <caption className="visually-hidden">Latency per edge route</caption>
            <thead>
              <tr>
                <th scope="col">Route</th>
                <th scope="col">Routed to</th>
                <th scope="col" className="num">
                  Requests
                </th>
                <th scope="col" className="num">
                  5xx
                </th>
                <th scope="col" className="num">
                  p50 ms
                </th>
                <th scope="col" className="num">
                  p95 ms
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={`${row.route} ${row.method} ${row.destination}`}>
                  <td>
                    <code>
                      {row.method} {row.route}
                    </code>
                  </td>
                  <td>{row.destination}</td>
                  <td className="num">{formatCount(row.requests)}</td>
                  <td className="num">{formatCount(row.errors)}</td>
                  <td className="num">{row.p50Ms}</td>
                  <td className="num">{row.p95Ms}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
