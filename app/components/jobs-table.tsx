import { Link } from '@remix-run/react';
import type { ReactNode } from 'react';

import type { JobKind } from '~/domain/job-kinds';
import type { JobStatus } from '~/domain/job-status';
import { paths } from '~/paths';

import { useNow } from './clock';
import { formatAge, formatCount, formatMicros } from './format';
import { StatusBadge } from './status-badge';

export interface JobsTableRow {
  id: string;
  /** Shown in a Kind column when the table has `showKind`; generation when absent. */
  kind?: JobKind;
  status: JobStatus;
  /** A generation's chapter; an analytics job's title (its range). */
  chapterTitle: string;
  courseTitle: string | null;
  destination: string;
  model: string;
  generator: string | null;
  attempts: number;
  maxAttempts: number;
  progressOutputTokens: number;
  maxTokens: number;
  costMicros: number;
  createdAt: string;
  cancelRequested: boolean;
}

/**
 * The jobs table: one row per job, with a checkbox per row when `selected` is given (for bulk
 * cancel and retry), and a Kind column with `showKind` (the Jobs page lists every kind). Rows
 * link to the job's detail page.
 */
export function JobsTable(props: {
  jobs: JobsTableRow[];
  caption: string;
  showKind?: boolean;
  selected?: ReadonlySet<string>;
  onToggle?: (id: string) => void;
  onToggleAll?: (select: boolean) => void;
  empty: ReactNode;
  now?: Date;
}) {
  const { jobs, selected } = props;
  const clock = useNow();
  const now = props.now ?? clock;
  if (jobs.length === 0) return <>{props.empty}</>;
  const allSelected = selected ? jobs.every((job) => selected.has(job.id)) : false;
  return (
    <table className="table jobs-table">
      <caption className="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          {selected ? (
            <th scope="col">
              <input
                type="checkbox"
                aria-label="Select all jobs on this page"
                checked={allSelected}
                onChange={(event) => props.onToggleAll?.(event.target.checked)}
              />
            </th>
          ) : null}
          <th scope="col">Status</th>
          {props.showKind ? <th scope="col">Kind</th> : null}
          <th scope="col">{props.showKind ? 'Chapter or job' : 'Chapter'}</th>
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
          <tr key={job.id} data-job-id={job.id} data-status={job.status}>
            {selected ? (
              <td>
                <input
                  type="checkbox"
                  name="ids"
                  value={job.id}
                  aria-label={`Select ${job.chapterTitle}`}
                  checked={selected.has(job.id)}
                  onChange={() => props.onToggle?.(job.id)}
                />
              </td>
            ) : null}
            <td>
              <StatusBadge status={job.status} />
              {job.cancelRequested && job.status === 'running' ? <span className="tag">stopping</span> : null}
            </td>
            {props.showKind ? <td>{job.kind ?? 'generation'}</td> : null}
            <td>
              <Link to={paths.job(job.id)}>{job.chapterTitle}</Link>
            </td>
            <td>{job.courseTitle ?? '—'}</td>
            <td>{job.destination}</td>
            <td>
              {job.model}
              {job.generator === 'offline' ? <span className="tag">offline</span> : null}
            </td>
            <td>
              {job.kind === 'analytics' ? (
                <span className="hint">{job.status === 'succeeded' ? 'result stored' : '—'}</span>
              ) : (
                <Progress
                  value={job.progressOutputTokens}
                  max={job.maxTokens}
                  done={job.status === 'succeeded'}
                  label={`Progress of ${job.chapterTitle}`}
                />
              )}
            </td>
            <td>
              {job.attempts} / {job.maxAttempts}
            </td>
            <td className="num">{formatMicros(job.costMicros)}</td>
            <td>
              <time dateTime={job.createdAt}>{formatAge(job.createdAt, now)}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Progress({ value, max, done, label }: { value: number; max: number; done: boolean; label: string }) {
  const share = done ? 100 : Math.min(100, (value / Math.max(1, max)) * 100);
  return (
    <span className="token-progress">
      <span
        className="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={value}
      >
        <span className="progress-running" style={{ width: `${share}%` }} />
      </span>
      <span className="hint">{formatCount(value)} tok</span>
    </span>
  );
}
