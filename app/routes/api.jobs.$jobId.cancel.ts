import { json, type ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import { cancelJobs } from '~/server/services/job-control.server';

/** POST /api/jobs/:id/cancel — 200 when cancelled, 202 when the running generation is being stopped. */
export async function action({ request, params }: ActionFunctionArgs) {
  const caller = await requireApiCaller(request, 'jobs.cancel');
  const id = z.uuid().safeParse(params.jobId);
  if (!id.success) return apiError(404, 'not_found', 'No job has this id.');
  const [outcome] = (await cancelJobs(await getRuntime(), caller, [id.data])).outcomes;
  if (outcome.kind === 'not_found' || outcome.kind === 'conflict')
    return apiError(outcome.kind === 'not_found' ? 404 : 409, outcome.kind, outcome.message);
  return json(
    { job_id: id.data, status: outcome.status, message: outcome.message },
    { status: outcome.kind === 'cancelled' ? 200 : 202 },
  );
}
