import type { LoaderFunctionArgs } from '@remix-run/node';

import { requirePermission } from '~/server/auth/auth.server';
import { readSearchParams } from '~/server/http.server';
import { learningCsv } from '~/server/learning-analytics.server';
import { presentLearning } from '~/server/presenters/learning.server';
import { parseRange } from '~/server/presenters/range.server';
import { getRuntime } from '~/server/runtime.server';

/** GET /learning/csv?from=…&to=… — the Learning page's figures, per course then per chapter. */
export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.export');
  const { db } = await getRuntime();
  const range = await parseRange(db, readSearchParams(request));
  return new Response(learningCsv(await presentLearning(db, range)), {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="switchyard-learning-${range.from}-to-${range.to}.csv"`,
      'Cache-Control': 'no-store',
    },
  });
}
