import { useRevalidator } from '@remix-run/react';
import { useEffect } from 'react';

import { useNow, useTimeZone } from '~/components/clock';
import { formatAge, formatTime } from '~/components/format';
import type { RoutingPageData } from './route';

/** What the router serves now, read back the way the router reads it. */
export function ServingNow({
  active,
  edgeConfigConfigured,
  readBack,
}: Pick<RoutingPageData, 'active' | 'edgeConfigConfigured' | 'readBack'>) {
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
      {readBack ? <PublishState readBack={readBack} /> : null}
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

/**
 * The newest publish as the router's read path confirmed it: "publishing…" until Edge Config
 * serves it (the page reloads every second meanwhile), then "live since … (propagated in … s)",
 * or a warning when it was not served within the deadline.
 */
function PublishState({ readBack }: { readBack: NonNullable<RoutingPageData['readBack']> }) {
  const timeZone = useTimeZone();
  const revalidator = useRevalidator();
  const publishing = readBack.state === 'publishing';
  useEffect(() => {
    if (!publishing) return;
    const timer = setInterval(() => {
      if (revalidator.state === 'idle') revalidator.revalidate();
    }, 1000);
    return () => clearInterval(timer);
  }, [publishing, revalidator]);
  if (readBack.state === 'publishing')
    return (
      <p className="hint" role="status" data-testid="publish-state">
        {`Publishing v${readBack.version}… Edge Config took the write at ${formatTime(readBack.publishedAt, timeZone)} ${timeZone}; waiting for the router's read path to serve it.`}
      </p>
    );
  if (readBack.state === 'unconfirmed')
    return (
      <p className="form-error" role="alert" data-testid="publish-state">
        {`v${readBack.version} is not confirmed live: Edge Config still did not serve it ${readBack.deadlineSeconds} s after the publish (${formatTime(readBack.publishedAt, timeZone)} ${timeZone}). ` +
          "The router's x-route-config-version header shows the version each request got; publish again if it stays old."}
      </p>
    );
  const propagated =
    readBack.store === 'edge-config'
      ? `propagated in ${((readBack.propagationMs ?? 0) / 1000).toFixed(1)} s`
      : 'read from the database';
  return (
    <p className="hint" data-testid="publish-state">
      {`v${readBack.version} live since ${formatTime(readBack.effectiveAt ?? readBack.publishedAt, timeZone)} ${timeZone} (${propagated}).`}
    </p>
  );
}
