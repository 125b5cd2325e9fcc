import type { LoaderFunctionArgs } from '@remix-run/node';

import { costCharts, latencyCharts, toCsv } from '~/domain/chart-data';
import { requirePermission } from '~/server/auth/auth.server';
import { apiError, readSearchParams } from '~/server/http.server';
import { bucketUnitOf, presentCosts, presentLatency } from '~/server/presenters/analytics.server';
import { parseRange } from '~/server/presenters/range.server';
import { getRuntime } from '~/server/runtime.server';

/** GET /costs/csv?chart=…&from=…&to=… — exactly the rows a Costs or Latency chart draws. */
export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.export');
  const { db } = await getRuntime();
  const params = readSearchParams(request);
  const range = await parseRange(db, params);
  const id = params.get('chart') ?? '';
  const latencyIds = ['e2e', 'ttft', 'queue', 'throughput'];
  const charts = latencyIds.includes(id)
    ? latencyCharts(await presentLatency(db, range))
    : costCharts(await presentCosts(db, range));
  const chart = charts.find((candidate) => candidate.id === id);
  if (!chart)
    return apiError(
      404,
      'not_found',
      `No chart "${id}". Charts: ${[...costCharts({ unit: 'day', points: [], byModel: [] }), ...latencyCharts({ unit: 'day', points: [] })].map((c) => c.id).join(', ')}.`,
    );
  return new Response(toCsv(chart), {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="switchyard-${chart.id}-${range.from}-to-${range.to}-by-${bucketUnitOf(range)}.csv"`,
      'Cache-Control': 'no-store',
    },
  });
}
