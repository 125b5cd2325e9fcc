import { useFetcher } from '@remix-run/react';
import { useEffect, useRef } from 'react';

import { Age } from '~/components/clock';

import type { action as presenceAction } from '../routing.presence';
import type { RoutingPageData } from './route';

export const PRESENCE_ACTION = '/routing/presence';
/** The server counts a page as open for three heartbeats (routing-presence.server.ts). */
const HEARTBEAT_MS = 10_000;

/**
 * Who else has the Routing page open, and who of them has unsaved changes: this page sends a
 * heartbeat every 10 s (and at once when its first edit starts), and each answer lists the others.
 */
export function Presence(props: {
  initial: RoutingPageData['present'];
  baseVersion: number;
  newestVersion: number;
  dirty: boolean;
}) {
  const fetcher = useFetcher<typeof presenceAction>();
  // Stable across renders (React Router keeps it per fetcher key), so beats follow only the props.
  const { submit } = fetcher;
  const tab = useRef<string | null>(null);
  const { baseVersion, dirty } = props;
  useEffect(() => {
    tab.current ??= crypto.randomUUID();
    const beat = () =>
      submit(
        { tab: tab.current!, base: String(baseVersion), dirty: String(dirty) },
        { method: 'post', action: PRESENCE_ACTION },
      );
    beat();
    const timer = setInterval(beat, HEARTBEAT_MS);
    return () => clearInterval(timer);
  }, [baseVersion, dirty, submit]);
  const others = fetcher.data && 'others' in fetcher.data ? fetcher.data.others : props.initial;
  if (others.length === 0) return null;
  return (
    <p className="presence" data-testid="presence" role="status">
      Also on this page:{' '}
      {others.map((other, i) => (
        <span key={other.staffId} className={other.dirty ? 'presence-dirty' : undefined}>
          {i > 0 ? ' · ' : ''}
          {other.dirty
            ? `${other.name}, unsaved changes on v${other.baseVersion}`
            : `${other.name}, viewing v${other.baseVersion}`}
          {other.dirty && other.baseVersion < props.newestVersion
            ? ' (an older version: their save will conflict)'
            : ''}{' '}
          <span className="hint">
            (<Age date={other.seenAt} />)
          </span>
        </span>
      ))}
    </p>
  );
}
