import { json, type ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import { retryJobs } from '~/server/services/job-control.server';

/** POST /api/jobs/:id/retry — queue a failed or cancelled job again. */
export async function action({ request, params }: ActionFunctionArgs) {
  const caller = await requireApiCaller(request, 'jobs.retry');
  const id = z.uuid().safeParse(params.jobId);
  if (!id.success) return apiError(404, 'not_found', 'No job has this id.');
  const [outcome] = (await retryJobs(await getRuntime(), caller, [id.data])).outcomes;
  if (outcome.kind === 'not_found' || outcome.kind === 'conflict')
    return apiError(outcome.kind === 'not_found' ? 404 : 409, outcome.kind, outcome.message);
  return json(
    { job_id: id.data, status: outcome.status, status_url: `/api/jobs/${id.data}`, message: outcome.message },
    { status: 202 },
  );
}
