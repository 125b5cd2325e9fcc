import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { presentJobStatus } from '~/server/presenters/job-status.server';
import { getRuntime } from '~/server/runtime.server';

/** GET /api/jobs/:id — status, progress, usage, cost, timestamps and error of one job. */
export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireApiCaller(request, 'jobs.view');
  const id = z.uuid().safeParse(params.jobId);
  if (!id.success) return apiError(404, 'not_found', 'No job has this id.');
  const { db } = await getRuntime();
  const job = await presentJobStatus(db, id.data);
  if (!job) return apiError(404, 'not_found', 'No job has this id.');
  return json(job, { headers: { 'Cache-Control': 'no-store' } });
}
