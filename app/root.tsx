import { json, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import {
  Form,
  isRouteErrorResponse,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  useNavigation,
  useRouteError,
  useRouteLoaderData,
} from '@remix-run/react';
import type { ReactNode } from 'react';

import { ClientHintCheck, ClockProvider, timeZoneFromCookie } from './components/clock';
import { useNonce } from './components/nonce';
import { can, ROLE_LABELS, type Action } from './domain/permissions';
import { paths } from './paths';
import { getStaff } from './server/auth/auth.server';
import { publicEnv } from './server/env.server';
import { getRuntime } from './server/runtime.server';
import { recentSpendAlerts } from './server/spend-alerts.server';
import stylesheet from './styles/app.css';
import dashboardStylesheet from './styles/dashboard.css';

/**
 * Vercel Function settings for every route (they inherit the root's). Read statically by Vercel's
 * Remix builder; one value for all routes keeps one function, since per-route values need a fork
 * of @remix-run/dev that does not exist for 2.17 (ADR 0015). 300 s covers the edge path's
 * in-request generation and the /live stream; regions are in vercel.json.
 */
export const config = { maxDuration: 300 };

export const links: LinksFunction = () => [
  { rel: 'icon', href: '/favicon.ico', sizes: '32x32' },
  { rel: 'stylesheet', href: stylesheet },
  { rel: 'stylesheet', href: dashboardStylesheet },
];

export const meta: MetaFunction = () => [{ title: 'Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const { env, db } = await getRuntime();
  const staff = await getStaff(request);
  // Spend alerts are for those who can act on them (finance and admin), on every page.
  const spendAlerts = staff && can(staff.role, 'budgets.edit') ? await recentSpendAlerts(db) : [];
  // `now` and `timeZone` let the server render and hydration write the same times (clock.tsx).
  return json({
    staff,
    spendAlerts,
    env: publicEnv(env),
    now: new Date().toISOString(),
    timeZone: timeZoneFromCookie(request.headers.get('Cookie')),
  });
}

const NAV: { to: string; label: string; action: Action }[] = [
  { to: paths.overview(), label: 'Overview', action: 'jobs.view' },
  { to: paths.jobs(), label: 'Jobs', action: 'jobs.view' },
  { to: paths.submit(), label: 'Queue', action: 'jobs.submit' },
  { to: paths.batches(), label: 'Batches', action: 'jobs.view' },
  { to: paths.routing(), label: 'Routing', action: 'routing.view' },
  { to: paths.costs(), label: 'Costs', action: 'costs.view' },
  { to: paths.latency(), label: 'Latency', action: 'costs.view' },
  { to: paths.learning(), label: 'Learning', action: 'costs.view' },
  { to: paths.worker(), label: 'Worker', action: 'jobs.view' },
  { to: paths.adminStaff(), label: 'Admin', action: 'staff.manage' },
];

export function Layout({ children }: { children: ReactNode }) {
  const nonce = useNonce();
  const data = useRouteLoaderData<typeof loader>('root');
  const staff = data?.staff;
  const navigation = useNavigation();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <ClientHintCheck nonce={nonce} />
        <Meta />
        <Links />
      </head>
      <body>
        <div
          className={navigation.state === 'idle' ? 'loading-bar' : 'loading-bar active'}
          role="progressbar"
          aria-hidden={navigation.state === 'idle'}
          aria-label="Loading"
        />
        {data?.env.demo ? (
          <p className="demo-banner" role="note">
            Demo accounts are active: anyone can sign in with the credentials printed at start-up. Set ADMIN_EMAIL and
            ADMIN_PASSWORD to run without them.
          </p>
        ) : null}
        {data?.spendAlerts.length ? (
          <div className="spend-alerts" role="status" data-testid="spend-alerts">
            {data.spendAlerts.map((alert) => (
              <p key={alert.id} className={`spend-alert spend-alert-${alert.kind}`}>
                {alert.message} <a href={paths.costs()}>Costs</a>
              </p>
            ))}
          </div>
        ) : null}
        <header className="topbar">
          <a className="brand" href={paths.overview()}>
            <span className="brand-mark" aria-hidden="true">
              ⇄
            </span>
            Switchyard
          </a>
          {staff ? (
            <>
              <nav aria-label="Main">
                <ul className="nav">
                  {NAV.filter((item) => can(staff.role, item.action)).map((item) => (
                    <li key={item.to}>
                      <NavLink to={item.to} end={item.to === '/'} prefetch="intent">
                        {item.label}
                      </NavLink>
                    </li>
                  ))}
                </ul>
              </nav>
              <Form method="post" action={paths.signOut()} className="whoami">
                <span>
                  <span className="whoami-name">{staff.displayName}</span>{' '}
                  <span className="role">{ROLE_LABELS[staff.role]}</span>
                </span>
                <button type="submit" className="button-quiet">
                  Sign out
                </button>
              </Form>
            </>
          ) : null}
        </header>
        <main className="content">
          <ClockProvider serverNow={data?.now}>{children}</ClockProvider>
        </main>
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const title = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : 'Something went wrong';
  const detail = isRouteErrorResponse(error)
    ? typeof error.data === 'string'
      ? error.data
      : 'The page could not be loaded.'
    : error instanceof Error
      ? error.message
      : 'An unexpected error occurred.';
  return (
    <section className="panel error-panel" role="alert">
      <h1>{title}</h1>
      <p>{detail}</p>
      <p>
        <a href={paths.overview()}>Back to the overview</a>
      </p>
    </section>
  );
}
