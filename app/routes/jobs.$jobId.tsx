import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Age, useTimeZone } from '~/components/clock';
import { Toast } from '~/components/toast';
import { Form, Link, useActionData, useLoaderData, useNavigation, useRouteLoaderData } from '@remix-run/react';
import { z } from 'zod';

import { formatCount, formatMicros, formatTime } from '~/components/format';
import { Markdown } from '~/components/markdown';
import { ProviderBatchTable } from '~/components/provider-batch-table';
import { StatusBadge } from '~/components/status-badge';
import { useLiveJobs } from '~/components/use-live-jobs';
import { isCancellable, isRetryable, type JobStatus } from '~/domain/job-status';
import { can } from '~/domain/permissions';
import { paths } from '~/paths';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { presentJobDetail } from '~/server/presenters/job-status.server';
import { presentProviderBatches } from '~/server/presenters/provider-batches.server';
import { getRuntime } from '~/server/runtime.server';
import { cancelJobs, retryJobs } from '~/server/services/job-control.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.detail.job.chapter_title ?? 'Job'} · Jobs · Switchyard` },
];

const JobId = z.uuid();

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const id = JobId.safeParse(params.jobId);
  if (!id.success) throw new Response('That is not a job id.', { status: 404, statusText: 'Not Found' });
  const { db } = await getRuntime();
  const [detail, providerBatches] = await Promise.all([
    presentJobDetail(db, id.data),
    presentProviderBatches(db, { jobId: id.data }),
  ]);
  if (!detail) throw new Response('No job has this id.', { status: 404, statusText: 'Not Found' });
  return json({ detail, providerBatches });
}

export async function action({ request, params }: ActionFunctionArgs) {
  const form = await readForm(request);
  const intent = form.get('intent');
  const id = JobId.safeParse(params.jobId);
  if (!id.success || (intent !== 'cancel' && intent !== 'retry'))
    return json({ ok: false, message: 'Unknown action.' }, { status: 400 });
  const staff = await requirePermission(request, intent === 'cancel' ? 'jobs.cancel' : 'jobs.retry');
  const control = intent === 'cancel' ? cancelJobs : retryJobs;
  const { outcomes, changed } = await control(await getRuntime(), { actor: staff.email }, [id.data]);
  return json({ ok: changed > 0, message: outcomes[0].message }, { status: changed > 0 ? 200 : 409 });
}

const ms = (value: number | null) =>
  value === null ? '—' : value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(1)} s`;

export default function JobPage() {
  const { detail, providerBatches } = useLoaderData<typeof loader>();
  const timeZone = useTimeZone();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const navigation = useNavigation();
  const { job } = detail;
  const status = job.status as JobStatus;
  useLiveJobs({ interested: (change) => change.jobs.some((changed) => changed.id === job.job_id) });
  const role = root?.staff?.role;
  const cost = job.cost.micros;
  return (
    <>
      <header className="page-header">
        <p className="eyebrow">
          <Link to={paths.jobs()}>Jobs</Link> / {detail.courseTitle}
        </p>
        <h1>
          {job.chapter_title} <StatusBadge status={status} />
        </h1>
        <p className="lede">
          {job.model} · {job.destination}
          {job.generator === 'offline' ? ' · offline placeholder generator' : ''} · attempt {job.attempts} of{' '}
          {job.max_attempts}
          {job.batch_id ? (
            <>
              {' '}
              · <Link to={paths.batch(job.batch_id)}>its batch</Link>
            </>
          ) : null}
          {job.chapter_id ? (
            <>
              {' '}
              · <Link to={paths.chapter(job.chapter_id)}>the chapter and its versions (revert)</Link>
            </>
          ) : null}
        </p>
      </header>
      <Toast result={result} />
      <Form method="post" className="inline-form actions">
        {role && can(role, 'jobs.cancel') && isCancellable(status) && !job.cancel_requested ? (
          <button
            type="submit"
            name="intent"
            value="cancel"
            className="button-danger"
            disabled={navigation.state !== 'idle'}
          >
            Cancel job
          </button>
        ) : null}
        {job.cancel_requested && status === 'running' ? <span className="tag">stopping…</span> : null}
        {role && can(role, 'jobs.retry') && isRetryable(status) ? (
          <button type="submit" name="intent" value="retry" className="button" disabled={navigation.state !== 'idle'}>
            Retry
          </button>
        ) : null}
      </Form>

      <ProviderBatchTable batches={providerBatches} />

      {job.error ? (
        <section className="panel error-panel" aria-labelledby="error">
          <h2 id="error">Error</h2>
          <p>
            <code>{job.error.code}</code> {job.error.message}
          </p>
        </section>
      ) : null}

      <div className="grid-2">
        <section className="panel" aria-labelledby="usage">
          <h2 id="usage">Usage and cost</h2>
          <table className="table compact">
            <tbody>
              <tr>
                <th scope="row">Input tokens</th>
                <td className="num">{formatCount(job.usage.input_tokens as number)}</td>
                <td className="num">{formatMicros(cost.input)}</td>
              </tr>
              <tr>
                <th scope="row">Output tokens</th>
                <td className="num">{formatCount(job.usage.output_tokens as number)}</td>
                <td className="num">{formatMicros(cost.output)}</td>
              </tr>
              <tr>
                <th scope="row">Cache writes (5 min / 1 h)</th>
                <td className="num">
                  {formatCount(job.usage.cache_write_5m_tokens as number)} /{' '}
                  {formatCount(job.usage.cache_write_1h_tokens as number)}
                </td>
                <td className="num">{formatMicros(cost.cache_write)}</td>
              </tr>
              <tr>
                <th scope="row">Cache reads</th>
                <td className="num">{formatCount(job.usage.cache_read_tokens as number)}</td>
                <td className="num">{formatMicros(cost.cache_read)}</td>
              </tr>
              <tr>
                <th scope="row">
                  Compute (
                  {job.destination === 'cloud'
                    ? 'Cloud Run'
                    : job.destination === 'batch'
                      ? 'none: Message Batches API, tokens at half price'
                      : 'Vercel'}
                  , {ms(job.usage.busy_ms as number)})
                </th>
                <td />
                <td className="num">{formatMicros(cost.cloud_run + cost.vercel)}</td>
              </tr>
              <tr className="total">
                <th scope="row">Total</th>
                <td />
                <td className="num">{formatMicros(cost.total)}</td>
              </tr>
            </tbody>
          </table>
        </section>
        <section className="panel" aria-labelledby="latency">
          <h2 id="latency">Latency</h2>
          <dl className="stats">
            <div className="stat">
              <dt>Queue wait</dt>
              <dd>
                <span className="stat-value">{ms(detail.latency.queueWaitMs)}</span>
              </dd>
            </div>
            <div className="stat">
              <dt>Time to first token</dt>
              <dd>
                <span className="stat-value">{ms(detail.latency.timeToFirstTokenMs)}</span>
              </dd>
            </div>
            <div className="stat">
              <dt>Generation</dt>
              <dd>
                <span className="stat-value">{ms(detail.latency.generationMs)}</span>
              </dd>
            </div>
            <div className="stat">
              <dt>End to end</dt>
              <dd>
                <span className="stat-value">{ms(detail.latency.endToEndMs)}</span>
              </dd>
            </div>
          </dl>
          <p className="hint">
            Route: rule <code>{String(job.route.rule_id ?? '—')}</code>, config{' '}
            {job.route.config_version ? `v${job.route.config_version}` : 'defaults'}, priority {job.priority}
          </p>
        </section>
      </div>

      <section className="panel" aria-labelledby="output">
        <h2 id="output">
          {detail.content
            ? 'Result'
            : status === 'running'
              ? `Streaming… ${formatCount(job.progress.output_tokens as number)} tokens`
              : 'Output'}
        </h2>
        {detail.content ? (
          <Markdown source={detail.content} label="Generated chapter" />
        ) : detail.streamedText ? (
          <Markdown source={detail.streamedText} label="Text generated so far" />
        ) : (
          <p className="hint">{status === 'pending' ? 'Waiting for a worker.' : 'No output.'}</p>
        )}
      </section>

      <section className="panel" aria-labelledby="timeline">
        <h2 id="timeline">Timeline</h2>
        <ol className="timeline">
          {detail.events.map((event) => (
            <li key={event.id}>
              <time dateTime={event.occurred_at}>{formatTime(event.occurred_at, timeZone)}</time>{' '}
              <strong>{event.event.replace('_', ' ')}</strong>
              {event.attempt ? <span className="hint"> · attempt {event.attempt}</span> : null}
              {Object.keys(event.detail).length > 0 ? (
                <span className="hint">
                  {' '}
                  ·{' '}
                  {Object.entries(event.detail)
                    .map(([key, value]) => `${key}: ${String(value)}`)
                    .join(', ')}
                </span>
              ) : null}
            </li>
          ))}
        </ol>
        <p className="hint">
          Created <Age date={job.timestamps.created_at as string} />.
        </p>
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
