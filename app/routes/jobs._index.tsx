import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Toast } from '~/components/toast';
import {
  Form,
  Link,
  useActionData,
  useLoaderData,
  useLocation,
  useNavigation,
  useRouteLoaderData,
} from '@remix-run/react';
import { useState } from 'react';
import { z } from 'zod';

import { EmptyState } from '~/components/empty-state';
import { JobsTable } from '~/components/jobs-table';
import { useLiveJobs } from '~/components/use-live-jobs';
import { filtersToSearch, parseJobFilters } from '~/domain/job-filters';
import { JOB_KINDS } from '~/domain/job-kinds';
import { DESTINATIONS, JOB_STATUSES } from '~/domain/job-status';
import { can } from '~/domain/permissions';
import { knownModels } from '~/domain/prices';
import { fieldErrors } from '~/domain/submit-schemas';
import { paths } from '~/paths';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { badSearchParams, readForm, readSearchParams } from '~/server/http.server';
import { presentJobFilterOptions, presentJobList } from '~/server/presenters/job-list.server';
import { getRuntime } from '~/server/runtime.server';
import { cancelJobs, retryJobs } from '~/server/services/job-control.server';

export const meta: MetaFunction = () => [{ title: 'Jobs · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db } = await getRuntime();
  const parsed = parseJobFilters(readSearchParams(request));
  if (!parsed.success) throw badSearchParams(fieldErrors(parsed.error));
  const filters = parsed.data;
  const [page, options] = await Promise.all([presentJobList(db, filters), presentJobFilterOptions(db)]);
  return json({ ...page, filters, options: { ...options, models: knownModels() } });
}

const BulkSchema = z.object({
  intent: z.enum(['cancel', 'retry']),
  ids: z.array(z.uuid()).min(1, 'Select at least one job.').max(200, 'Select at most 200 jobs at a time.'),
  confirm: z.literal('yes', { message: 'Confirm the bulk action.' }),
});

export async function action({ request }: ActionFunctionArgs) {
  const form = await readForm(request);
  const parsed = BulkSchema.safeParse({
    intent: form.get('intent'),
    ids: form.getAll('ids'),
    confirm: form.get('confirm'),
  });
  if (!parsed.success)
    return json({ ok: false, message: parsed.error.issues.map((issue) => issue.message).join(' ') }, { status: 400 });
  const staff = await requirePermission(request, parsed.data.intent === 'cancel' ? 'jobs.cancel' : 'jobs.retry');
  const control = parsed.data.intent === 'cancel' ? cancelJobs : retryJobs;
  const { changed, skipped } = await control(await getRuntime(), { actor: staff.email }, parsed.data.ids);
  const verb = parsed.data.intent === 'cancel' ? 'Cancelled or stopping' : 'Queued again';
  return json({
    ok: true,
    message: `${verb}: ${changed} job(s).${skipped ? ` ${skipped} skipped (already finished or not retryable).` : ''}`,
  });
}

export default function JobsPage() {
  const { jobs, nextCursor, prevCursor, filters, options } = useLoaderData<typeof loader>();
  const { search } = useLocation();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const role = root?.staff?.role;
  const mayAct = role ? can(role, 'jobs.cancel') : false;
  // Finance may look at jobs but not queue them: no link to a page that would refuse them.
  const maySubmit = role ? can(role, 'jobs.submit') : false;
  const navigation = useNavigation();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState<'cancel' | 'retry' | null>(null);
  const onPage = new Set(jobs.map((job) => job.id));
  const firstPage = !filters.after && !filters.before;
  // New jobs only matter on the first page; changes to shown jobs matter everywhere.
  useLiveJobs({
    interested: (change) =>
      change.jobs.some(
        (job) => onPage.has(job.id) || (firstPage && change.event === 'status' && job.status === 'pending'),
      ),
  });
  const chosen = jobs.filter((job) => selected.has(job.id));

  return (
    <>
      <header className="page-header">
        <h1>Jobs</h1>
        <p className="lede">
          Every job, chapter generations and learning analytics, newest first, updating live.{' '}
          {maySubmit ? <Link to={paths.submit()}>Queue chapters →</Link> : null}
        </p>
      </header>
      <Toast result={result} />
      <section className="panel" aria-labelledby="filters-heading">
        <h2 id="filters-heading" className="visually-hidden">
          Filters
        </h2>
        {/* Keyed on the URL: its inputs are uncontrolled, so without a remount "Clear" (or Back)
            would leave the old values in the form for the next Filter click to re-apply. */}
        <Form method="get" className="filters" preventScrollReset key={search}>
          <label>
            Search chapter
            <input type="search" name="q" defaultValue={filters.q ?? ''} placeholder="title contains…" />
          </label>
          <label>
            Kind
            <select name="kind" defaultValue={filters.kind ?? ''}>
              <option value="">any</option>
              {JOB_KINDS.map((kind) => (
                <option key={kind}>{kind}</option>
              ))}
            </select>
          </label>
          <label>
            Status
            <select name="status" defaultValue={filters.status ?? ''}>
              <option value="">any</option>
              {JOB_STATUSES.map((status) => (
                <option key={status}>{status}</option>
              ))}
            </select>
          </label>
          <label>
            Destination
            <select name="destination" defaultValue={filters.destination ?? ''}>
              <option value="">any</option>
              {DESTINATIONS.map((destination) => (
                <option key={destination}>{destination}</option>
              ))}
            </select>
          </label>
          <label>
            Model
            <select name="model" defaultValue={filters.model ?? ''}>
              <option value="">any</option>
              {options.models.map((model) => (
                <option key={model}>{model}</option>
              ))}
            </select>
          </label>
          <label>
            Rule
            <input name="rule" defaultValue={filters.rule ?? ''} placeholder="e.g. generate" size={10} />
          </label>
          <label>
            Config version
            <select name="version" defaultValue={filters.version ?? ''}>
              <option value="">any</option>
              <option value="0">defaults</option>
              {options.configVersions.map((version) => (
                <option key={version} value={version}>
                  v{version}
                </option>
              ))}
            </select>
          </label>
          <label>
            From
            <input type="date" name="from" defaultValue={filters.from ?? ''} />
          </label>
          <label>
            To
            <input type="date" name="to" defaultValue={filters.to ?? ''} />
          </label>
          {filters.batch ? <input type="hidden" name="batch" value={filters.batch} /> : null}
          <div className="filter-actions">
            <button type="submit" className="button">
              Filter
            </button>
            <Link to={paths.jobs()} className="button-quiet">
              Clear
            </Link>
          </div>
        </Form>
        {filters.batch ? (
          <p className="hint">
            Showing one batch. <Link to={paths.batch(filters.batch)}>Open the batch →</Link>
          </p>
        ) : null}
      </section>

      <section className="panel">
        <Form method="post" onSubmit={() => setConfirming(null)}>
          {mayAct ? (
            <div className="bulk-bar" role="toolbar" aria-label="Bulk actions">
              <span>{chosen.length} selected</span>
              <button
                type="button"
                className="button-quiet"
                disabled={chosen.length === 0}
                onClick={() => setConfirming('cancel')}
              >
                Cancel selected
              </button>
              <button
                type="button"
                className="button-quiet"
                disabled={chosen.length === 0}
                onClick={() => setConfirming('retry')}
              >
                Retry selected
              </button>
              {confirming ? (
                <span className="confirm" role="alertdialog" aria-label="Confirm bulk action">
                  {confirming === 'cancel' ? `Cancel ${chosen.length} job(s)?` : `Retry ${chosen.length} job(s)?`}
                  <input type="hidden" name="confirm" value="yes" />
                  <button
                    type="submit"
                    name="intent"
                    value={confirming}
                    className={confirming === 'cancel' ? 'button-danger' : 'button'}
                    disabled={navigation.state !== 'idle'}
                  >
                    Yes, {confirming}
                  </button>
                  <button type="button" className="button-quiet" onClick={() => setConfirming(null)}>
                    No
                  </button>
                </span>
              ) : null}
            </div>
          ) : null}
          <JobsTable
            jobs={jobs}
            caption="Jobs"
            showKind
            selected={mayAct ? selected : undefined}
            onToggle={(id) =>
              setSelected((current) => {
                const next = new Set(current);
                if (next.has(id)) next.delete(id);
                else next.add(id);
                return next;
              })
            }
            onToggleAll={(select) => setSelected(select ? new Set(jobs.map((job) => job.id)) : new Set())}
            empty={
              <EmptyState title={Object.keys(filters).length ? 'No job matches these filters' : 'No jobs yet'}>
                {Object.keys(filters).length ? (
                  <Link to={paths.jobs()}>Clear the filters</Link>
                ) : maySubmit ? (
                  <>
                    <Link to={paths.submit()}>Queue a chapter or a batch</Link>, or call{' '}
                    <code>POST /api/content/generate-chapter</code>.
                  </>
                ) : (
                  <>
                    Jobs appear here when someone queues chapters, or a program calls{' '}
                    <code>POST /api/content/generate-chapter</code>.
                  </>
                )}
              </EmptyState>
            }
          />
        </Form>
        <nav className="pager" aria-label="Pages">
          <span className="pager-newer">
            {firstPage ? null : (
              <Link to={`${paths.jobs()}${filtersToSearch(filters, { after: undefined, before: undefined })}`}>
                « Newest
              </Link>
            )}{' '}
            {prevCursor ? (
              <Link to={`${paths.jobs()}${filtersToSearch(filters, { after: undefined, before: prevCursor })}`}>
                ← Newer
              </Link>
            ) : null}
          </span>
          {nextCursor ? (
            <Link to={`${paths.jobs()}${filtersToSearch(filters, { after: nextCursor, before: undefined })}`}>
              Older →
            </Link>
          ) : null}
        </nav>
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
