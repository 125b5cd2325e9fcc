import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import {
  Form,
  useActionData,
  useLoaderData,
  useNavigation,
  useRouteLoaderData,
  useSearchParams,
  useSubmit,
} from '@remix-run/react';
import { useState, type FormEvent } from 'react';

import { ROLES, ROLE_LABELS } from '~/domain/permissions';
import type { loader as rootLoader } from '~/root';
import { assertSameOrigin, commitSessionCookie, getStaff, sessionMeta } from '~/server/auth/auth.server';
import { demoEmail, DEMO_PASSWORD } from '~/server/auth/bootstrap.server';
import { signInWithPassword, signInWithSupabase } from '~/server/auth/sign-in.server';
import { authMode, isDemo } from '~/server/env.server';
import { readForm, readSearchParams, safeRedirectPath } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Sign in · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const { env } = await getRuntime();
  const redirectTo = safeRedirectPath(readSearchParams(request).get('redirectTo'));
  if (await getStaff(request)) throw redirect(redirectTo);
  const demoAccounts = isDemo(env)
    ? ROLES.map((role) => ({ role, label: ROLE_LABELS[role], email: demoEmail(role), password: DEMO_PASSWORD }))
    : [];
  return json({ mode: authMode(env), demoAccounts });
}

export async function action({ request }: ActionFunctionArgs) {
  const { db, env } = await getRuntime();
  assertSameOrigin(request, env);
  const form = await readForm(request);
  const redirectTo = safeRedirectPath(form.get('redirectTo'));
  const meta = sessionMeta(request, env);
  const accessToken = form.get('accessToken');
  const result =
    typeof accessToken === 'string' && env.SUPABASE_URL
      ? await signInWithSupabase(
          db,
          accessToken,
          { supabaseUrl: env.SUPABASE_URL, jwtSecret: env.SUPABASE_JWT_SECRET },
          meta,
        )
      : await signInWithPassword(
          db,
          { email: String(form.get('email') ?? ''), password: String(form.get('password') ?? '') },
          meta,
        );
  if (!result.ok) return json({ error: result.message }, { status: result.status });
  return redirect(redirectTo, { headers: { 'Set-Cookie': await commitSessionCookie(env, result.sessionToken) } });
}

export default function SignInPage() {
  const { mode, demoAccounts } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [searchParams] = useSearchParams();
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle';
  const redirectTo = searchParams.get('redirectTo') ?? '/';
  return (
    <section className="panel sign-in">
      <h1>Sign in to Switchyard</h1>
      {mode === 'supabase' ? (
        <SupabaseSignIn redirectTo={redirectTo} serverError={actionData?.error} />
      ) : (
        <Form method="post" className="form">
          <input type="hidden" name="redirectTo" value={redirectTo} />
          <label>
            Email
            <input name="email" type="email" autoComplete="username" required autoFocus />
          </label>
          <label>
            Password
            <input name="password" type="password" autoComplete="current-password" required />
          </label>
          {actionData?.error ? (
            <p className="form-error" role="alert">
              {actionData.error}
            </p>
          ) : null}
          <button type="submit" className="button" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </Form>
      )}
      {demoAccounts.length > 0 ? (
        <div className="demo-accounts">
          <h2>Demo accounts</h2>
          <p>
            Password for all: <code>{demoAccounts[0].password}</code>
          </p>
          <ul>
            {demoAccounts.map((account) => (
              <li key={account.role}>
                {account.label}: <code>{account.email}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

/**
 * Supabase Auth signs the person in in the browser; the server then verifies the access token
 * and issues its own session. The Supabase client is loaded only here, on demand.
 */
function SupabaseSignIn({ redirectTo, serverError }: { redirectTo: string; serverError?: string }) {
  const { env } = useRootEnv();
  const submit = useSubmit();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const { createClient } = await import('@supabase/supabase-js');
      // The session is kept in the browser too: live updates subscribe to Realtime as this user (RLS).
      const supabase = createClient(env.supabaseUrl!, env.supabaseAnonKey!);
      const { data, error: signInError } = await supabase.auth.signInWithPassword({
        email: String(form.get('email')),
        password: String(form.get('password')),
      });
      if (signInError || !data.session) throw new Error(signInError?.message ?? 'Sign-in failed.');
      submit({ accessToken: data.session.access_token, redirectTo }, { method: 'post' });
    } catch (caught) {
      setError((caught as Error).message);
      setBusy(false);
    }
  }

  return (
    <form method="post" className="form" onSubmit={onSubmit}>
      <p className="hint">Sign in with your Supabase account.</p>
      <label>
        Email
        <input name="email" type="email" autoComplete="username" required autoFocus />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {error || serverError ? (
        <p className="form-error" role="alert">
          {error ?? serverError}
        </p>
      ) : null}
      <button type="submit" className="button" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function useRootEnv() {
  const data = useRouteLoaderData<typeof rootLoader>('root');
  if (!data) throw new Error('The root loader data is missing.');
  return data;
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
