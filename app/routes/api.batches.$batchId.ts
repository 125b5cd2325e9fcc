import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { presentBatchStatus } from '~/server/presenters/job-status.server';
import { getRuntime } from '~/server/runtime.server';

/** GET /api/batches/:id — a batch's jobs counted by status, and its spend so far. */
export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireApiCaller(request, 'jobs.view');
  const id = z.uuid().safeParse(params.batchId);
  if (!id.success) return apiError(404, 'not_found', 'No batch has this id.');
  const { db } = await getRuntime();
  const batch = await presentBatchStatus(db, id.data);
  if (!batch) return apiError(404, 'not_found', 'No batch has this id.');
  return json(batch, { headers: { 'Cache-Control': 'no-store' } });
}
