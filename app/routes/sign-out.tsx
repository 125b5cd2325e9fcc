import { redirect, type ActionFunctionArgs } from '@remix-run/node';

import { paths } from '~/paths';
import { assertSameOrigin, clearSessionCookie, readSessionToken } from '~/server/auth/auth.server';
import { endSession } from '~/server/auth/sessions.server';
import { getRuntime } from '~/server/runtime.server';

/** Ends the server-side session (so the cookie is worthless even if kept) and clears it. */
export async function action({ request }: ActionFunctionArgs) {
  const { db, env } = await getRuntime();
  assertSameOrigin(request, env);
  const token = await readSessionToken(request, env);
  if (token) await endSession(db, token);
  return redirect(paths.signIn(), { headers: { 'Set-Cookie': await clearSessionCookie(env) } });
}

export async function loader() {
  return redirect(paths.overview());
}
