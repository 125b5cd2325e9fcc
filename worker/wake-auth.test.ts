import type { AddressInfo } from 'node:net';

import { createHttpWakeUp } from '../app/server/dispatch.server';
import { databaseTargets } from '../test/support/databases';
import { SERVICE_ACCOUNT, startGoogleStandIn } from '../test/support/google-stand-in';
import { createOfflineGenerator } from '../app/server/generators/offline.server';
import { createWorkerServer } from './http';
import { JobRunner } from './job-runner';
import { silentLogger } from '../app/server/log.server';
import { createWakeAuthenticator, type WakeAuthResult } from './wake-auth';

const WORKER_URL = 'https://switchyard-worker-abc-uc.a.run.app';

describe('worker wake-up authentication', () => {
  let google: Awaited<ReturnType<typeof startGoogleStandIn>>;
  beforeAll(async () => {
    google = await startGoogleStandIn();
  });
  afterAll(() => google.close());

  const oidc = () =>
    createWakeAuthenticator({
      oidc: { audience: WORKER_URL, allowedEmails: [SERVICE_ACCOUNT], certsUrl: google.certsUrl },
    });

  it('accepts a Google-signed ID token for its own URL from an allowed service account', async () => {
    const token = await google.idToken({ audience: WORKER_URL });
    expect(await oidc()(`Bearer ${token}`)).toEqual({ ok: true, caller: SERVICE_ACCOUNT });
  });

  it.each([
    ['a token for another audience', { audience: 'https://other.run.app' }, /invalid ID token/],
    [
      'a token signed by a key Google did not publish',
      { audience: WORKER_URL, unpublishedKey: true },
      /invalid ID token/,
    ],
    ['an expired token', { audience: WORKER_URL, expired: true }, /invalid ID token/],
    [
      'a service account not on the allowlist',
      { audience: WORKER_URL, email: 'intruder@evil.iam.gserviceaccount.com' },
      /may not wake/,
    ],
    ['an unverified email', { audience: WORKER_URL, emailVerified: false }, /no verified email/],
  ])('refuses %s', async (_name, claims, reason) => {
    const result = await oidc()(`Bearer ${await google.idToken(claims)}`);
    expect(result.ok).toBe(false);
    expect((result as { reason: string }).reason).toMatch(reason);
  });

  it('accepts the local shared secret and refuses anything else', async () => {
    const local = createWakeAuthenticator({ sharedSecret: 'a-local-secret-of-length' });
    expect(await local('Bearer a-local-secret-of-length')).toEqual({ ok: true, caller: 'shared-secret' });
    expect((await local('Bearer a-local-secret-of-lengtX')).ok).toBe(false);
    expect((await local(undefined)).ok).toBe(false);
    expect((await createWakeAuthenticator({})('Bearer anything')).ok).toBe(false);
  });
});

describe.each(databaseTargets().slice(0, 1))('the app waking the worker over HTTP ($name)', (target) => {
  it('obtains an ID token from the metadata server with google-auth-library and the worker accepts it', async () => {
    const google = await startGoogleStandIn();
    const { db, drop } = await target.create();
    const runner = new JobRunner({ db, generator: createOfflineGenerator({ delayMs: 0 }), log: silentLogger });
    const decisions: WakeAuthResult[] = [];
    let workerUrl = '';
    const server = createWorkerServer({
      db,
      runner,
      budgetMs: 5000,
      log: silentLogger,
      // The audience is the worker's URL, known only once it listens.
      authenticate: async (header) => {
        const result = await createWakeAuthenticator({
          oidc: { audience: workerUrl, allowedEmails: [SERVICE_ACCOUNT], certsUrl: google.certsUrl },
        })(header);
        decisions.push(result);
        return result;
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    workerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.GCE_METADATA_HOST = google.host;
    process.env.METADATA_SERVER_DETECTION = 'assume-present';
    try {
      const errors: Error[] = [];
      await createHttpWakeUp({
        workerUrl,
        auth: { kind: 'google-id-token' },
        onError: (error) => errors.push(error),
      }).wake();
      expect(errors).toEqual([]);
      expect(google.identityRequests).toEqual([{ audience: workerUrl, flavor: 'Google' }]);
      expect(decisions).toEqual([{ ok: true, caller: SERVICE_ACCOUNT }]);

      const refused: Error[] = [];
      await createHttpWakeUp({
        workerUrl,
        auth: { kind: 'shared-secret', secret: 'not-configured-here' },
        onError: (error) => refused.push(error),
      }).wake();
      expect(refused[0]?.message).toMatch(/worker answered 401/);
    } finally {
      delete process.env.GCE_METADATA_HOST;
      delete process.env.METADATA_SERVER_DETECTION;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runner.stop();
      await drop();
      await google.close();
    }
  });
});
