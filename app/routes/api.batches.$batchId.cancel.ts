import { json } from '@remix-run/node';

import { apiRoute } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { cancelBatchService } from '~/server/services/job-control.server';

/** POST /api/batches/:id/cancel — cancel every unfinished job of a batch. */
export const action = apiRoute({
  permission: 'jobs.cancel',
  id: { param: 'batchId', notFound: 'No batch has this id.' },
  handle: async ({ id, caller, runtime }) => {
    const counts = await cancelBatchService(runtime.db, caller.actor, id);
    if (!counts) return apiError(404, 'not_found', 'No batch has this id.');
    return json({
      batch_id: id,
      cancelled: counts.cancelled,
      stopping: counts.stopping,
      message: `${counts.cancelled} pending job(s) cancelled; ${counts.stopping} running job(s) are being stopped.`,
    });
  },
});
