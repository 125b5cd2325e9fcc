import { isRouteErrorResponse, Link, useRouteError } from '@remix-run/react';

import { paths } from '~/paths';

/**
 * Shown in place of a page whose loader or action failed, inside the app's shell so navigation
 * still works: a refusal says why (403, 404), anything else says what to try.
 */
export function RouteErrorBoundary() {
  const error = useRouteError();
  if (isRouteErrorResponse(error)) {
    return (
      <section className="panel error-panel" role="alert">
        <h1>
          {error.status} {error.statusText}
        </h1>
        <p>{typeof error.data === 'string' ? error.data : 'This page could not be loaded.'}</p>
        <p>
          <Link to={paths.overview()}>Back to the overview</Link>
        </p>
      </section>
    );
  }
  return (
    <section className="panel error-panel" role="alert">
      <h1>Something went wrong on this page</h1>
      <p>{error instanceof Error ? error.message : 'An unexpected error occurred.'}</p>
      <p>Reload the page; if it keeps failing, the server log has the details.</p>
    </section>
  );
}
