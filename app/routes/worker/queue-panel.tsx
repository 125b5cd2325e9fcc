import { Link } from '@remix-run/react';

import { useNow } from '~/components/clock';
import { formatAge, formatCount } from '~/components/format';
import { Stat } from '~/components/stat';
import { paths } from '~/paths';

import type { PageData } from './types';

export function QueuePanel({ queue }: { queue: PageData['queue'] }) {
  const now = useNow();
  return (
    <section className="panel" aria-labelledby="queue">
      <h2 id="queue">Queue</h2>
      <dl className="stats">
        <Stat label="Queue depth" value={formatCount(queue.depth)} hint="jobs waiting to be claimed" />
        <Stat
          label="Oldest waiting"
          value={queue.oldestWaiting ? formatAge(queue.oldestWaiting.since, now) : '—'}
          hint={
            queue.oldestWaiting ? (
              <Link to={paths.job(queue.oldestWaiting.jobId)}>job {queue.oldestWaiting.jobId.slice(0, 8)}</Link>
            ) : (
              'nothing waiting'
            )
          }
        />
        <Stat
          label="Jobs per minute"
          value={<span data-testid="jobs-per-minute">{queue.perMinute}</span>}
          hint={`${formatCount(queue.finishedInWindow)} finished in the last ${queue.windowMinutes} min`}
        />
      </dl>
    </section>
  );
}
