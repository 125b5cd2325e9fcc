import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';

import { ChartPanel } from '~/components/chart-panel';
import { EmptyState } from '~/components/empty-state';
import { formatCount, formatMicros } from '~/components/format';
import { RangeForm } from '~/components/range-form';
import type { ChartData } from '~/domain/chart-data';
import { paths } from '~/paths';
import { requirePermission } from '~/server/auth/auth.server';
import { readSearchParams } from '~/server/http.server';
import { presentLearning } from '~/server/presenters/learning.server';
import { parseRange } from '~/server/presenters/range.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Learning · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'costs.view');
  const { db } = await getRuntime();
  const range = await parseRange(db, readSearchParams(request));
  return json({ learning: await presentLearning(db, range), now: new Date().toISOString() });
}

const minutes = (value: number | null) => (value === null ? '–' : `${formatCount(Math.round(value))} min`);

export default function LearningPage() {
  const { learning, now } = useLoaderData<typeof loader>();
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
