import { GoogleAuth } from 'google-auth-library';

import type { SendWakeUp } from './fleet.server';

/**
 * Wakes the worker after a job commits. Waking is only a nudge: the job is already durable,
 * so a failed wake-up is logged and left to the sweeper, never reported to the submitter.
 */
export interface WorkerWakeUp {
  /** Resolves when the worker has the request (or the attempt failed); never rejects. */
  wake(): Promise<void>;
  /**
   * One tracked wake-up of the fleet (fleet.server.ts): the request carries its id and is held
   * open until the worker answers (it drains the queue meanwhile), up to `holdMs`. Never rejects.
   */
  send: SendWakeUp;
}

export type WakeAuth = { kind: 'google-id-token' } | { kind: 'shared-secret'; secret: string };

export interface HttpWakeUpOptions {
  /** The worker service URL, e.g. https://switchyard-worker-abc-uc.a.run.app */
  workerUrl: string;
  auth: WakeAuth;
  /**
   * How long to wait for the worker to answer before letting go. The worker keeps the request
   * open while it drains the queue (Cloud Run only gives CPU while a request is open), so the
   * app does not wait for the answer; it only makes sure the request was delivered.
   */
  handoffMs?: number;
  /** How long a tracked wake-up is held open at most: the worker's budget plus a margin. */
  holdMs?: number;
  onError?: (error: Error) => void;
}

export function createHttpWakeUp(options: HttpWakeUpOptions): WorkerWakeUp {
  const googleAuth = options.auth.kind === 'google-id-token' ? new GoogleAuth() : undefined;
  const wakeUrl = new URL('/wake', options.workerUrl).toString();

  async function authorization(): Promise<string> {
    if (options.auth.kind === 'shared-secret') return `Bearer ${options.auth.secret}`;
    // The audience is the service URL; on Cloud Run or Vercel with workload identity the
    // token comes from the metadata server or the configured credentials.
    const client = await googleAuth!.getIdTokenClient(options.workerUrl);
    const headers = await client.getRequestHeaders();
    const value = headers.get('authorization');
    if (!value) throw new Error('google-auth-library returned no Authorization header');
    return value;
  }

  return {
    async wake() {
      try {
        const response = await fetch(wakeUrl, {
          method: 'POST',
          headers: { authorization: await authorization(), 'content-type': 'application/json' },
          body: '{}',
          signal: AbortSignal.timeout(options.handoffMs ?? 1500),
        });
        if (response.status === 401 || response.status === 403 || response.status >= 500) {
          throw new Error(`worker answered ${response.status}: ${await response.text()}`);
        }
      } catch (error) {
        // A timeout after delivery is the normal case: the worker is busy draining.
        if ((error as Error).name === 'TimeoutError') return;
        options.onError?.(error as Error);
      }
    },

    async send(wakeupId) {
      try {
        const response = await fetch(wakeUrl, {
          method: 'POST',
          headers: { authorization: await authorization(), 'content-type': 'application/json' },
          body: JSON.stringify({ wakeup: wakeupId }),
          signal: AbortSignal.timeout(options.holdMs ?? 900_000),
        });
        const text = await response.text();
        if (response.ok) {
          const processed = Number((JSON.parse(text) as { processed?: unknown }).processed);
          return { outcome: 'drained', processed: Number.isFinite(processed) ? processed : 0 };
        }
        // 429: Cloud Run had no instance for it (max instances reached, or scaling too fast).
        options.onError?.(new Error(`worker answered ${response.status}: ${text.slice(0, 200)}`));
        return { outcome: response.status === 429 ? 'refused' : 'failed', processed: 0 };
      } catch (error) {
        // Held past holdMs: the worker still owns it and finishes it, or it expires.
        if ((error as Error).name === 'TimeoutError') return { outcome: 'held', processed: 0 };
        options.onError?.(error as Error);
        return { outcome: 'failed', processed: 0 };
      }
    },
  };
}
