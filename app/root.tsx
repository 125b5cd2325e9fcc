import type { LinksFunction, MetaFunction } from '@remix-run/node';
import {
  isRouteErrorResponse,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
} from '@remix-run/react';
import type { ReactNode } from 'react';

import { paths } from './paths';
import stylesheet from './styles/app.css';

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: stylesheet }];

export const meta: MetaFunction = () => [{ title: 'Switchyard' }];

const NAV = [
  { to: paths.overview(), label: 'Overview' },
  { to: paths.jobs(), label: 'Jobs' },
  { to: paths.batches(), label: 'Batches' },
  { to: paths.routing(), label: 'Routing' },
  { to: paths.costs(), label: 'Costs' },
  { to: paths.worker(), label: 'Worker' },
];

export function Layout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        <div className="shell">
          <header className="topbar">
            <a className="brand" href={paths.overview()}>
              <span className="brand-mark" aria-hidden="true">
                ⇄
              </span>
              Switchyard
            </a>
            <nav aria-label="Main">
              <ul className="nav">
                {NAV.map((item) => (
                  <li key={item.to}>
                    <NavLink to={item.to} end={item.to === '/'} prefetch="intent">
                      {item.label}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </nav>
          </header>
          <main className="content">{children}</main>
        </div>
        <ScrollRestoration />
        <Scripts />
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
