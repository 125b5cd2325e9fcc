import { Age } from '~/components/clock';
import { Stat } from '~/components/stat';

import type { PageData } from './types';

/** Desired vs running instances, wake-ups in flight, and the provider back-pressure (ADR 0016). */
export function FleetPanel({ fleet }: { fleet: PageData['fleet'] }) {
  return (
    <section className="panel" aria-labelledby="fleet">
      <h2 id="fleet">Fleet scaling</h2>
      {!fleet ? (
        <p data-testid="fleet-unconfigured">
          No worker service to scale: <code>WORKER_URL</code> is not set, so jobs run on the embedded or standalone
          workers listed below and no wake-ups are sent.
        </p>
      ) : (
        <>
          <dl className="stats">
            <Stat
              label="Desired instances"
              value={<span data-testid="fleet-desired">{fleet.desired}</span>}
              hint={`of at most ${fleet.maxInstances}; ${fleet.runnable >= fleet.maxInstances ? `${fleet.maxInstances}+` : fleet.runnable} runnable job(s)`}
            />
            <Stat
              label="Running instances"
              value={<span data-testid="fleet-running">{fleet.pickedUp}</span>}
              hint="wake-ups a worker has taken"
            />
            <Stat
              label="Wake-ups in flight"
              value={<span data-testid="fleet-in-flight">{fleet.inFlight}</span>}
              hint={`${fleet.inFlight - fleet.pickedUp} still starting`}
            />
            <Stat
              label="Back-pressure"
              value={
                <span data-testid="fleet-pressure">
                  {fleet.pressure.limit === null ? (
                    <span className="badge badge-succeeded">none</span>
                  ) : (
                    <span className="badge badge-failed">limited to {fleet.pressure.limit}</span>
                  )}
                </span>
              }
              hint={
                fleet.pressure.limit !== null && fleet.pressure.since ? (
                  <>
                    after a {fleet.pressure.lastCode === 'overloaded_error' ? '529 overloaded' : '429 rate limit'}{' '}
                    <Age date={fleet.pressure.since} />; one more instance every {fleet.pressure.recoverStepSeconds} s
                  </>
                ) : (
                  `${fleet.pressure.events} provider 429/529 signal(s) so far`
                )
              }
            />
          </dl>
          <p className="hint" data-testid="fleet-recent">
            Last hour: {fleet.recent.sent} wake-up(s) sent, {fleet.recent.steppedDown} stepped down under back-pressure,{' '}
            {fleet.recent.refused} refused by Cloud Run (no instance), {fleet.recent.failed} failed.
          </p>
        </>
      )}
    </section>
  );
}
