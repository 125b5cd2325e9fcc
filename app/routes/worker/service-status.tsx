import { Age, useNow } from '~/components/clock';
import { formatAge } from '~/components/format';
import { Stat } from '~/components/stat';

import type { Condition, ServiceState } from './types';

export function ConditionBadge({ condition }: { condition: Condition }) {
  const className =
    condition.state === 'ready' ? 'badge-succeeded' : condition.state === 'failed' ? 'badge-failed' : 'badge-running';
  return <span className={`badge ${className}`}>{condition.state}</span>;
}

export function ServiceStatus({ state }: { state: ServiceState }) {
  const { service } = state;
  const now = useNow();
  const shortName = service.name.split('/').pop();
  return (
    <>
      <dl className="stats">
        <Stat
          label="Service"
          value={shortName}
          hint={service.uri ? <a href={service.uri}>{service.uri}</a> : 'no URL yet'}
        />
        <Stat
          label="Ready"
          value={<ConditionBadge condition={service.ready} />}
          hint={service.reconciling ? 'a change is being rolled out' : undefined}
        />
        <Stat
          label="Latest ready revision"
          value={<code>{service.latestReadyRevision ?? 'none'}</code>}
          hint={
            service.latestCreatedRevision && service.latestCreatedRevision !== service.latestReadyRevision
              ? `latest created: ${service.latestCreatedRevision} (not ready)`
              : 'also the latest created'
          }
        />
        <Stat
          label="Instances"
          value={`${service.scaling.minInstances} – ${service.scaling.maxInstances ?? 'no limit'}`}
          hint={
            service.scaling.mode === 'manual'
              ? 'manual scaling'
              : service.revisionScaling
                ? `service-level; the revision template sets ${service.revisionScaling.minInstances} – ${service.revisionScaling.maxInstances ?? 'no limit'}`
                : 'service-level min – max'
          }
        />
        <Stat label="Concurrency" value={service.concurrency ?? 'default'} hint="requests per instance" />
        <Stat
          label="Request timeout"
          value={service.timeoutSeconds === null ? 'default' : `${service.timeoutSeconds} s`}
        />
        <Stat label="CPU / memory" value={`${service.cpu ?? '—'} / ${service.memory ?? '—'}`} hint="per instance" />
        <Stat
          label="Last changed"
          value={service.updatedAt ? formatAge(service.updatedAt, now) : '—'}
          hint={service.lastModifier ? `by ${service.lastModifier}` : undefined}
        />
      </dl>
      {service.ready.message ? (
        <p className={service.ready.state === 'ready' ? 'hint' : 'form-error'} data-testid="ready-message">
          {service.ready.message}
        </p>
      ) : null}
      <div className="traffic-tables">
        <TrafficTable caption="Traffic asked for" routes={service.traffic} />
        <TrafficTable caption="Traffic served now" routes={service.trafficStatuses} />
      </div>
    </>
  );
}

function TrafficTable({ caption, routes }: { caption: string; routes: ServiceState['service']['traffic'] }) {
  return (
    <table className="table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Revision</th>
          <th scope="col" className="num">
            Share
          </th>
          <th scope="col">Tag</th>
        </tr>
      </thead>
      <tbody>
        {routes.map((route, i) => (
          <tr key={i}>
            <td>
              {route.kind === 'latest' ? 'latest ready' : null}
              {route.kind === 'latest' && route.revision ? ' → ' : null}
              {route.revision ? <code>{route.revision}</code> : null}
            </td>
            <td className="num">{route.percent}%</td>
            <td>{route.tag ? route.uri ? <a href={route.uri}>{route.tag}</a> : route.tag : null}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Revisions({ state }: { state: ServiceState }) {
  return (
    <section className="panel" aria-labelledby="revisions">
      <h2 id="revisions">Revisions</h2>
      <div className="table-scroll">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Created</th>
              <th scope="col">Image</th>
              <th scope="col">Ready</th>
              <th scope="col" className="num">
                Traffic
              </th>
            </tr>
          </thead>
          <tbody>
            {state.revisions.map((revision) => (
              <tr key={revision.name} data-testid={`revision-${revision.name}`}>
                <td>
                  <code>{revision.name}</code>
                  {revision.tags.map((tag) => (
                    <span key={tag} className="tag">
                      {tag}
                    </span>
                  ))}
                </td>
                <td>{revision.createdAt ? <Age date={revision.createdAt} /> : '—'}</td>
                <td>
                  <code className="image">{revision.image ?? '—'}</code>
                </td>
                <td>
                  <ConditionBadge condition={revision.ready} />
                  {revision.ready.state !== 'ready' && revision.ready.message ? (
                    <span className="hint"> {revision.ready.message}</span>
                  ) : null}
                </td>
                <td className="num">{revision.trafficPercent}%</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
