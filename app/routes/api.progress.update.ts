import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';

import { handleProgressUpdate } from '~/edge/learner-api';
import { learnerApiDeps } from '~/server/learner-api.server';
import { getRuntime } from '~/server/runtime.server';

/**
 * POST /api/progress/update — one reading-progress update from a learner's client, at the edge,
 * idempotent by `client_event_id`. The handler (`app/edge/learner-api.ts`) uses Web APIs only.
 */
export async function action({ request }: ActionFunctionArgs) {
  return handleProgressUpdate(request, learnerApiDeps(await getRuntime()));
}

/** Any other method: the handler's 405 naming POST. */
export async function loader({ request }: LoaderFunctionArgs) {
  return handleProgressUpdate(request, learnerApiDeps(await getRuntime()));
}
