import { json } from '@remix-run/node';

import { checkHealth } from '~/server/presenters/health.server';
import { getRuntime } from '~/server/runtime.server';

/** Liveness and readiness: the database answers and its migrations are current. */
export async function loader() {
  const { db } = await getRuntime();
  const health = await checkHealth(db);
  return json(health, { status: health.ok ? 200 : 503, headers: { 'Cache-Control': 'no-store' } });
}
