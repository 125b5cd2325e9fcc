import { useNow } from '~/components/clock';
import { formatAge } from '~/components/format';
import type { RoutingPageData } from './route';

/** What the router serves now, read back the way the router reads it. */
export function ServingNow({ active, edgeConfigConfigured }: Pick<RoutingPageData, 'active' | 'edgeConfigConfigured'>) {
  const now = useNow();
  return (
    <section className="panel" aria-labelledby="serving">
      <h2 id="serving">Serving now</h2>
      <dl className="stats">
        <div className="stat">
          <dt>Version</dt>
          <dd>
            <span className="stat-value" data-testid="serving-version">
              {active.version === 0 ? 'defaults' : `v${active.version}`}
            </span>
            <span className="stat-hint">
              from{' '}
              {active.source === 'edge-config'
                ? 'Edge Config'
                : active.source === 'database'
                  ? 'the database'
                  : 'built-in defaults'}
              {active.publishedAt ? `, since ${formatAge(active.publishedAt, now)}` : ''}
            </span>
          </dd>
        </div>
        <div className="stat">
          <dt>Hybrid routing</dt>
          <dd>
            <span className="stat-value">{active.config.hybridEnabled ? 'on' : 'off (kill switch)'}</span>
          </dd>
        </div>
        <div className="stat">
          <dt>Canary</dt>
          <dd>
            <span className="stat-value">{active.config.canaryPercent}%</span>
            <span className="stat-hint">of cloud-bound traffic, sticky by {active.config.stickyKey}</span>
          </dd>
        </div>
      </dl>
      {active.readError ? (
        <p className="form-error" role="alert">
          Edge Config could not be read ({active.readError}); the router serves the last version published in the
          database.
        </p>
      ) : null}
      {!edgeConfigConfigured ? (
        <p className="hint">
          Edge Config is not configured: publishing makes a version live in the database, which the router reads.
        </p>
      ) : null}
    </section>
  );
}
