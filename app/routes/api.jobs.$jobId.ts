import { json } from '@remix-run/node';

import { apiRoute } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { presentJobStatus } from '~/server/presenters/job-status.server';

/** GET /api/jobs/:id — status, progress, usage, cost, timestamps and error of one job. */
export const loader = apiRoute({
  permission: 'jobs.view',
  id: { param: 'jobId', notFound: 'No job has this id.' },
  handle: async ({ id, runtime }) => {
    const job = await presentJobStatus(runtime.db, id);
    if (!job) return apiError(404, 'not_found', 'No job has this id.');
    return json(job, { headers: { 'Cache-Control': 'no-store' } });
  },
});
