import { json, type ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import { retryJobService } from '~/server/services/job-control.server';

/** POST /api/jobs/:id/retry — queue a failed or cancelled job again. */
export async function action({ request, params }: ActionFunctionArgs) {
  const caller = await requireApiCaller(request, 'jobs.retry');
  const id = z.uuid().safeParse(params.jobId);
  if (!id.success) return apiError(404, 'not_found', 'No job has this id.');
  const runtime = await getRuntime();
  const result = await retryJobService(runtime.db, caller.actor, id.data);
  if (!result.ok) return apiError(result.reason === 'not_found' ? 404 : 409, result.reason, result.message);
  runtime.wakeWorker();
  return json(
    { job_id: id.data, status: result.status, status_url: `/api/jobs/${id.data}`, message: result.message },
    { status: 202 },
  );
}
