import { json } from '@remix-run/node';

import { apiRoute } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { retryJobs } from '~/server/services/job-control.server';

/** POST /api/jobs/:id/retry — queue a failed or cancelled job again. */
export const action = apiRoute({
  permission: 'jobs.retry',
  id: { param: 'jobId', notFound: 'No job has this id.' },
  handle: async ({ id, caller, runtime }) => {
    const [outcome] = (await retryJobs(runtime, caller, [id])).outcomes;
    if (outcome.kind === 'not_found' || outcome.kind === 'conflict')
      return apiError(outcome.kind === 'not_found' ? 404 : 409, outcome.kind, outcome.message);
    return json(
      { job_id: id, status: outcome.status, status_url: `/api/jobs/${id}`, message: outcome.message },
      { status: 202 },
    );
  },
});
