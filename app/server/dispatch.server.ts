import { GoogleAuth } from 'google-auth-library';

/**
 * Wakes the worker after a job commits. Waking is only a nudge: the job is already durable,
 * so a failed wake-up is logged and left to the sweeper, never reported to the submitter.
 */
export interface WorkerWakeUp {
  /** Resolves when the worker has the request (or the attempt failed); never rejects. */
  wake(): Promise<void>;
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
  };
}
