import { json, type ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import { requireApiCaller } from '~/server/auth/auth.server';
import { apiError } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import { cancelBatchService } from '~/server/services/job-control.server';

/** POST /api/batches/:id/cancel — cancel every unfinished job of a batch. */
export async function action({ request, params }: ActionFunctionArgs) {
  const caller = await requireApiCaller(request, 'jobs.cancel');
  const id = z.uuid().safeParse(params.batchId);
  if (!id.success) return apiError(404, 'not_found', 'No batch has this id.');
  const { db } = await getRuntime();
  const counts = await cancelBatchService(db, caller.actor, id.data);
  if (!counts) return apiError(404, 'not_found', 'No batch has this id.');
  return json({
    batch_id: id.data,
    cancelled: counts.cancelled,
    stopping: counts.stopping,
    message: `${counts.cancelled} pending job(s) cancelled; ${counts.stopping} running job(s) are being stopped.`,
  });
}
