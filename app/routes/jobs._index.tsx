import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';

import { EmptyState } from '~/components/empty-state';
import { formatAge, formatCount, formatMicros } from '~/components/format';
import { StatusBadge } from '~/components/status-badge';
import { presentJobList } from '~/server/presenters/job-list.server';
import { requirePermission } from '~/server/auth/auth.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'Jobs · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db } = await getRuntime();
  return json({ jobs: await presentJobList(db) });
}

export default function JobsPage() {
  const { jobs } = useLoaderData<typeof loader>();
  return (
    <>
      <header className="page-header">
        <h1>Jobs</h1>
        <p className="lede">The 50 newest chapter generation jobs.</p>
      </header>
      <section className="panel">
        {jobs.length === 0 ? (
          <EmptyState title="No jobs yet">
            Jobs appear here once chapters are queued through <code>POST /api/content/generate-chapter</code>.
          </EmptyState>
        ) : (
          <table className="table">
            <caption className="visually-hidden">Newest jobs</caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Chapter</th>
                <th scope="col">Course</th>
                <th scope="col">Destination</th>
                <th scope="col">Model</th>
                <th scope="col">Progress</th>
                <th scope="col">Attempts</th>
                <th scope="col" className="num">
                  Cost
                </th>
                <th scope="col">Age</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id}>
                  <td>
                    <StatusBadge status={job.status} />
                  </td>
                  <td>{job.chapterTitle}</td>
                  <td>{job.courseTitle}</td>
                  <td>{job.destination}</td>
                  <td>
                    {job.model}
                    {job.generator === 'offline' ? <span className="tag">offline</span> : null}
                  </td>
                  <td>
                    {formatCount(job.progressOutputTokens)} / {formatCount(job.maxTokens)} tokens
                  </td>
                  <td>
                    {job.attempts} / {job.maxAttempts}
                  </td>
                  <td className="num">{formatMicros(job.costMicros)}</td>
                  <td>
                    <time dateTime={job.createdAt}>{formatAge(job.createdAt)}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
