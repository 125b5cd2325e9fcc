import { json, type ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import { cancelJobService } from '~/server/services/job-control.server';

/** POST /api/jobs/:id/cancel — 200 when cancelled, 202 when the running generation is being stopped. */
export async function action({ request, params }: ActionFunctionArgs) {
  const caller = await requireApiCaller(request, 'jobs.cancel');
  const id = z.uuid().safeParse(params.jobId);
  if (!id.success) return apiError(404, 'not_found', 'No job has this id.');
  const { db } = await getRuntime();
  const result = await cancelJobService(db, caller.actor, id.data);
  if (!result.ok) return apiError(result.reason === 'not_found' ? 404 : 409, result.reason, result.message);
  return json(
    { job_id: id.data, status: result.status, message: result.message },
    { status: result.status === 'cancelled' ? 200 : 202 },
  );
}
