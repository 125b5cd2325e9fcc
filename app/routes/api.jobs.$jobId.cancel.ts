import { json } from '@remix-run/node';

import { apiRoute } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { cancelJobs } from '~/server/services/job-control.server';

/** POST /api/jobs/:id/cancel — 200 when cancelled, 202 when the running generation is being stopped. */
export const action = apiRoute({
  permission: 'jobs.cancel',
  id: { param: 'jobId', notFound: 'No job has this id.' },
  handle: async ({ id, caller, runtime }) => {
    const [outcome] = (await cancelJobs(runtime, caller, [id])).outcomes;
    if (outcome.kind === 'not_found' || outcome.kind === 'conflict')
      return apiError(outcome.kind === 'not_found' ? 404 : 409, outcome.kind, outcome.message);
    return json(
      { job_id: id, status: outcome.status, message: outcome.message },
      { status: outcome.kind === 'cancelled' ? 200 : 202 },
    );
  },
});
