import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from '@remix-run/react';

import { ChartPanel } from '~/components/chart-panel';
import { EmptyState } from '~/components/empty-state';
import { formatCount, formatMicros } from '~/components/format';
import { RangeForm } from '~/components/range-form';
import { StatusBadge } from '~/components/status-badge';
import { useLiveJobs } from '~/components/use-live-jobs';
import type { ChartData } from '~/domain/chart-data';
import { AnalyticsComputeSchema } from '~/domain/job-kinds';
import { can } from '~/domain/permissions';
import { fieldErrors } from '~/domain/submit-schemas';
import { paths } from '~/paths';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm, readSearchParams } from '~/server/http.server';
import { presentLearning } from '~/server/presenters/learning.server';
import { parseRange } from '~/server/presenters/range.server';
import { getRuntime } from '~/server/runtime.server';
import { queueLearningAnalytics } from '~/server/services/learning-analytics.server';
import type { loader as rootLoader } from '~/root';

export const meta: MetaFunction = () => [{ title: 'Learning · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.view');
  const { db } = await getRuntime();
  const range = await parseRange(db, readSearchParams(request));
  return json({ learning: await presentLearning(db, range), now: new Date().toISOString() });
}

/** Queue the analytics job for the range shown (finance, admin): the worker computes and stores it. */
export async function action({ request }: ActionFunctionArgs) {
  const staff = await requirePermission(request, 'analytics.compute');
  const form = await readForm(request);
  const parsed = AnalyticsComputeSchema.safeParse({ from: form.get('from'), to: form.get('to') });
  if (!parsed.success)
    return json({ ok: false, message: 'Choose a valid range.', fields: fieldErrors(parsed.error) }, { status: 400 });
  const result = await queueLearningAnalytics(
    await getRuntime(),
    { actor: staff.email, scope: `staff:${staff.id}` },
    parsed.data,
  );
  if (result.kind !== 'queued') return json({ ok: false, message: result.message, fields: {} }, { status: 422 });
  return json({ ok: true, message: 'Computation queued: its status below updates live.', fields: {} });
}

const minutes = (value: number | null) => (value === null ? '–' : `${formatCount(Math.round(value))} min`);

export default function LearningPage() {
  const { learning, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const computation = learning.computation;
  useLiveJobs({ interested: (change) => change.jobs.some((job) => job.id === computation?.jobId) });
  const csv = paths.learningCsv(learning.range);
  return (
    <>
      <header className="page-header">
        <h1>Learning</h1>
        <p className="lede">
          What learners did with the chapters, and what generating them cost per chapter completed. Chapters started in
          the range (UTC days); completions counted when they happened.
        </p>
      </header>
      <RangeForm range={learning.range} now={now} />
      <section className="panel" aria-labelledby="computation-heading">
        <h2 id="computation-heading">Computed result</h2>
        {computation ? (
          <p>
            <Link to={paths.job(computation.jobId)}>Analytics job</Link> for this range:{' '}
            <StatusBadge status={computation.status} />
            {computation.computedAt ? ` computed ${computation.computedAt.slice(0, 16).replace('T', ' ')} UTC` : null}
            {computation.status === 'running' && computation.progressText
              ? ` (${computation.progressText.split('\n').at(-1)})`
              : null}
            {computation.error ? ` ${computation.error}` : null}
          </p>
        ) : (
          <p>No computation queued for this range yet: the figures below are computed as the page loads.</p>
        )}
        {root?.staff && can(root.staff.role, 'analytics.compute') ? (
          <Form method="post">
            <input type="hidden" name="from" value={learning.range.from} />
            <input type="hidden" name="to" value={learning.range.to} />
            <button type="submit" className="button">
              Compute for this range
            </button>
            {result ? (
              <span role="status" className={result.ok ? undefined : 'field-error'}>
                {' '}
                {result.message}
              </span>
            ) : null}
          </Form>
        ) : null}
      </section>
      <section className="panel">
        <h2>Courses</h2>
        <p>
          <a href={csv} download>
            Download CSV
          </a>{' '}
          (per course, then per chapter)
        </p>
        {learning.courses.length === 0 ? (
          <EmptyState title="No learning in this range">
            Learners report progress with <code>POST /api/progress/update</code>.
          </EmptyState>
        ) : (
          <div className="table-scroll">
            <table className="table">
              <caption className="visually-hidden">Learning and generation cost per course</caption>
              <thead>
                <tr>
                  <th scope="col">Course</th>
                  <th scope="col" className="num">
                    Learners
                  </th>
                  <th scope="col" className="num">
                    Chapters started
                  </th>
                  <th scope="col" className="num">
                    Completed
                  </th>
                  <th scope="col" className="num">
                    Time to complete p50 / p90
                  </th>
                  <th scope="col" className="num">
                    Generation cost
                  </th>
                  <th scope="col" className="num">
                    Cost per completed chapter
                  </th>
                </tr>
              </thead>
              <tbody>
                {learning.courses.map((course) => (
                  <tr key={course.courseId}>
                    <td>{course.courseTitle}</td>
                    <td className="num">{formatCount(course.learners)}</td>
                    <td className="num">{formatCount(course.started)}</td>
                    <td className="num">{formatCount(course.completed)}</td>
                    <td className="num">
                      {minutes(course.p50Minutes)} / {minutes(course.p90Minutes)}
                    </td>
                    <td className="num">{formatMicros(course.generationCostMicros)}</td>
                    <td className="num">
                      {course.costPerCompletedChapterMicros === null
                        ? '–'
                        : formatMicros(course.costPerCompletedChapterMicros)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {learning.courses
        .filter((course) => course.started > 0)
        .map((course) => {
          const chapters = learning.chapters.filter((chapter) => chapter.courseId === course.courseId);
          const chart: ChartData = {
            id: `funnel-${course.courseId}`,
            title: `${course.courseTitle}: completion funnel`,
            columns: [
              { key: 'chapter', label: 'Chapter' },
              { key: 'started', label: 'Started', unit: 'learners' },
              { key: 'completed', label: 'Completed', unit: 'learners' },
            ],
            rows: chapters.map((chapter) => ({
              chapter: `#${chapter.position}`,
              started: chapter.started,
              completed: chapter.completed,
            })),
          };
          return (
            <ChartPanel
              key={course.courseId}
              chart={chart}
              kind="bar"
              xKey="chapter"
              series={['started', 'completed']}
              jobs={chapters.length}
              csvHref={csv}
            />
          );
        })}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
