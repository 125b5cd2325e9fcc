/**
 * Times that render the same on the server and in the browser, so hydration never disagrees.
 *
 * - Time zone (the Epic Stack's client hint): a tiny inline script stores the browser's zone in
 *   the `CH-time-zone` cookie and reloads once when it was missing or changed; the root loader
 *   reads it (UTC without one) and both sides format with that explicit zone.
 * - "N s ago": ages are counted from the `now` the root loader sent, so the server render and
 *   hydration agree; after mount the clock follows the browser's own time and ticks.
 */
import { useRouteLoaderData } from '@remix-run/react';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';

import { formatAge, formatDateTime } from './format';

export const TIME_ZONE_COOKIE = 'CH-time-zone';
export const DEFAULT_TIME_ZONE = 'UTC';
const TICK_MS = 10_000;

/** The time zone a request's client hint names, if it is one Intl knows; UTC otherwise. */
export function timeZoneFromCookie(cookieHeader: string | null): string {
  const raw = cookieHeader
    ?.split(/;\s*/)
    .find((part) => part.startsWith(`${TIME_ZONE_COOKIE}=`))
    ?.slice(TIME_ZONE_COOKIE.length + 1);
  if (!raw) return DEFAULT_TIME_ZONE;
  try {
    const zone = decodeURIComponent(raw);
    return new Intl.DateTimeFormat('en-GB', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return DEFAULT_TIME_ZONE;
  }
}

/**
 * Sets the cookie and reloads once, before React hydrates, when the browser's zone differs
 * from the cookie's. It reloads only if the cookie really was stored (cookies may be blocked),
 * so it can never loop; `__clientHintReload` tells entry.client not to hydrate a page that is
 * being replaced.
 */
const clientHintScript = `(() => {
  const name = ${JSON.stringify(TIME_ZONE_COOKIE)};
  const read = () => {
    const part = document.cookie.split(/;\\s*/).find((c) => c.startsWith(name + '='));
    return part ? decodeURIComponent(part.slice(name.length + 1)) : null;
  };
  let zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch { return; }
  if (!zone || read() === zone) return;
  document.cookie = name + '=' + encodeURIComponent(zone) + '; Path=/; Max-Age=31536000; SameSite=Lax';
  if (read() === zone) {
    window.__clientHintReload = true;
    window.location.reload();
  }
})();`;

export function ClientHintCheck({ nonce }: { nonce: string }) {
  return <script nonce={nonce} dangerouslySetInnerHTML={{ __html: clientHintScript }} />;
}

const NowContext = createContext<Date | null>(null);

/** Provides the clock: the server's `now` first (for hydration), then the browser's, ticking. */
export function ClockProvider({ serverNow, children }: { serverNow: string | undefined; children: ReactNode }) {
  const [now, setNow] = useState(() => (serverNow ? new Date(serverNow) : new Date()));
  useEffect(() => {
    const tick = () => setNow(new Date());
    // The first tick, just after hydration, moves from the server's time to the browser's.
    const first = setTimeout(tick, 0);
    const timer = setInterval(tick, TICK_MS);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, []);
  return <NowContext.Provider value={now}>{children}</NowContext.Provider>;
}

/** The current time as pages must use it for ages (never `new Date()` during render). */
export function useNow(): Date {
  // Only a component rendered outside the app (a unit test) has no clock above it.
  return useContext(NowContext) ?? new Date();
}

/** The viewer's time zone, as the root loader read it from the client hint. */
export function useTimeZone(): string {
  const root = useRouteLoaderData<{ timeZone?: string }>('root');
  return root?.timeZone ?? DEFAULT_TIME_ZONE;
}

/** "5 min ago", with the exact time in the viewer's zone on hover. */
export function Age({ date }: { date: Date | string }) {
  const now = useNow();
  const timeZone = useTimeZone();
  const iso = new Date(date).toISOString();
  return (
    <time dateTime={iso} title={formatDateTime(iso, timeZone)}>
      {formatAge(iso, now)}
    </time>
  );
}
