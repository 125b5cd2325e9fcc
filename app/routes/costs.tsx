import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';

import { formatMicros } from '~/components/format';
import { presentOverview } from '~/server/presenters/overview.server';
import { requirePermission } from '~/server/auth/auth.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Costs · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.view');
  const { db } = await getRuntime();
  const overview = await presentOverview(db);
  return json({ monthToDateCostMicros: overview.monthToDateCostMicros });
}

export default function CostsPage() {
  const { monthToDateCostMicros } = useLoaderData<typeof loader>();
  return (
    <>
      <header className="page-header">
        <h1>Costs</h1>
        <p className="lede">What generation costs, summed from the jobs.</p>
      </header>
      <section className="panel">
        <dl className="stats">
          <div className="stat">
            <dt>Month to date</dt>
            <dd>
              <span className="stat-value">{formatMicros(monthToDateCostMicros)}</span>
            </dd>
          </div>
        </dl>
        <p>Charts by component, destination and model, budgets and CSV exports are not built yet.</p>
      </section>
    </>
  );
}
