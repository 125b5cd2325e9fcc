import { useRevalidator, useRouteLoaderData } from '@remix-run/react';
import { useEffect, useRef } from 'react';

import type { loader as rootLoader } from '~/root';

export interface LiveJobChange {
  event: 'status' | 'progress' | 'cancel_requested';
  jobs: { id: string; status: string; batch_id?: string | null; output_tokens?: number }[];
}

/**
 * Live job and batch changes for a page. With Supabase configured it subscribes to Realtime
 * `postgres_changes` on chapter_content_jobs and batches (RLS decides what the signed-in staff
 * member sees); otherwise to the app's Server-Sent Events (/live, read from job_events). Which
 * one is configuration; pages only say what interests them. Every change revalidates the page's
 * loaders (coalesced within a frame); after a dropped connection, or when the server says its
 * own database connection came back (`reload`), it revalidates once more to catch up.
 */
export function useLiveJobs(
  options: { interested?: (change: LiveJobChange) => boolean; onChange?: (change: LiveJobChange) => void } = {},
) {
  const revalidator = useRevalidator();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const latest = useRef(options);
  const revalidate = useRef(revalidator.revalidate);
  // The subscription lives across renders; it reads the newest options and revalidator.
  useEffect(() => {
    latest.current = options;
    revalidate.current = revalidator.revalidate;
  });
  const supabase =
    root?.env.authMode === 'supabase' && root.env.supabaseUrl && root.env.supabaseAnonKey
      ? { url: root.env.supabaseUrl, key: root.env.supabaseAnonKey }
      : null;

  useEffect(() => {
    let pending: number | undefined;
    const nudge = () => {
      if (pending !== undefined) return;
      pending = window.requestAnimationFrame(() => {
        pending = undefined;
        revalidate.current();
      });
    };
    const deliver = (change: LiveJobChange) => {
      latest.current.onChange?.(change);
      if (!latest.current.interested || latest.current.interested(change)) nudge();
    };

    if (supabase) return subscribeRealtime(supabase, deliver, nudge);

    // Without EventSource (very old browsers, test DOMs) the page still works; it just is not live.
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/live');
    let dropped = false;
    source.addEventListener('jobs', (event) => {
      try {
        deliver(JSON.parse((event as MessageEvent<string>).data) as LiveJobChange);
      } catch {
        // a malformed frame is ignored; the next change revalidates anyway
      }
    });
    // The server's listener reconnected or is polling: changes may have gone unannounced.
    source.addEventListener('reload', () => nudge());
    source.addEventListener('ready', () => {
      if (dropped) nudge();
      dropped = false;
    });
    source.addEventListener('error', () => {
      dropped = true;
    });
    return () => {
      source.close();
      if (pending !== undefined) window.cancelAnimationFrame(pending);
    };
  }, [supabase?.url, supabase?.key]); // eslint-disable-line react-hooks/exhaustive-deps
}

/**
 * The Realtime half of useLiveJobs: `postgres_changes` on the jobs and batches tables. Returns the
 * unsubscribe. `transport` is only for runtimes without a global WebSocket (Node 20 in tests).
 */
export function subscribeRealtime(
  config: { url: string; key: string },
  deliver: (change: LiveJobChange) => void,
  nudge: () => void,
  transport?: unknown,
) {
  let stop = () => undefined as void;
  let cancelled = false;
  void import('@supabase/supabase-js').then(({ createClient }) => {
    if (cancelled) return;
    const client = createClient(
      config.url,
      config.key,
      transport ? { realtime: { transport: transport as never } } : undefined,
    );
    const channel = client
      .channel('switchyard-jobs')
      .on('postgres_changes', { event: '*', schema: 'public', table: 'chapter_content_jobs' }, (payload) => {
        const row = (payload.new ?? payload.old) as { id: string; status: string; batch_id: string | null };
        deliver({ event: 'status', jobs: [{ id: row.id, status: row.status, batch_id: row.batch_id }] });
      })
      .on('postgres_changes', { event: '*', schema: 'public', table: 'batches' }, () => nudge())
      .subscribe((status) => {
        if (status === 'SUBSCRIBED') nudge();
      });
    stop = () => void client.removeChannel(channel);
  });
  return () => {
    cancelled = true;
    stop();
  };
}
