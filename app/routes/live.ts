import type { LoaderFunctionArgs } from '@remix-run/node';

import { requirePermission } from '~/server/auth/auth.server';
import { subscribeLiveFeed } from '~/server/live-feed.server';
import { getRuntime } from '~/server/runtime.server';

/** Keeps proxies from closing an idle stream, and lets a dead client be noticed. */
const KEEPALIVE_MS = 15_000;

/**
 * GET /live — Server-Sent Events of job changes, fed by the process's cursor over job_events
 * (`subscribeLiveFeed`, ADR 0021): the live channel when Supabase Realtime is not configured.
 * Each `jobs` event is {"event", "jobs": [...]}, in the order the changes were written; a
 * `reload` event says changes may have gone unannounced (the database was unreachable for a
 * while). Pages use both only as a nudge to revalidate their loaders.
 */
export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const { db } = await getRuntime();
  const encoder = new TextEncoder();
  let cleanup: (() => Promise<void>) | undefined;

  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          void cleanup?.();
        }
      };
      const unsubscribe = await subscribeLiveFeed(db, {
        onJobs: (payload) => send(`event: jobs\ndata: ${payload}\n\n`),
        onReload: () => send('event: reload\ndata: {}\n\n'),
      });
      const keepalive = setInterval(() => send(': keepalive\n\n'), KEEPALIVE_MS);
      cleanup = async () => {
        clearInterval(keepalive);
        cleanup = undefined;
        await unsubscribe();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      // The first frame tells EventSource to retry after 1 s when the connection drops.
      send('retry: 1000\nevent: ready\ndata: {}\n\n');
      request.signal.addEventListener('abort', () => void cleanup?.(), { once: true });
    },
    cancel() {
      void cleanup?.();
    },
  });

  return new Response(stream, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    },
  });
}
