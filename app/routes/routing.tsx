import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';

import { requirePermission } from '~/server/auth/auth.server';

export const meta: MetaFunction = () => [{ title: 'Routing · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'routing.view');
  return null;
}

export default function RoutingPage() {
  return (
    <>
      <header className="page-header">
        <h1>Routing</h1>
        <p className="lede">Route rules, the canary percentage and the kill switch.</p>
      </header>
      <section className="panel">
        <p>
          Routing control is not built yet. Until it is, every generation request is queued for the cloud worker with
          the queue&apos;s defaults (normal priority, 2 retries with exponential backoff).
        </p>
      </section>
    </>
  );
}
