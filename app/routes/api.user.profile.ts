import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';

import { handleProfile } from '~/edge/learner-api';
import { learnerApiDeps } from '~/server/learner-api.server';
import { getRuntime } from '~/server/runtime.server';

/**
 * GET/PATCH /api/user/profile — a learner's own profile, at the edge. The handler
 * (`app/edge/learner-api.ts`) uses Web APIs only; this route only hands it its dependencies.
 */
export async function loader({ request }: LoaderFunctionArgs) {
  return handleProfile(request, learnerApiDeps(await getRuntime()));
}

export async function action({ request }: ActionFunctionArgs) {
  return handleProfile(request, learnerApiDeps(await getRuntime()));
}
