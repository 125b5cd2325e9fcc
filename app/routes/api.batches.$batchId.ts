import { json } from '@remix-run/node';

import { apiRoute } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { presentBatchStatus } from '~/server/presenters/job-status.server';

/** GET /api/batches/:id — a batch's jobs counted by status, and its spend so far. */
export const loader = apiRoute({
  permission: 'jobs.view',
  id: { param: 'batchId', notFound: 'No batch has this id.' },
  handle: async ({ id, runtime }) => {
    const batch = await presentBatchStatus(runtime.db, id);
    if (!batch) return apiError(404, 'not_found', 'No batch has this id.');
    return json(batch, { headers: { 'Cache-Control': 'no-store' } });
  },
});
