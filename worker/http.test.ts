import type { AddressInfo } from 'node:net';

import { createOfflineGenerator } from '../app/server/generators/offline.server';
import { silentLogger } from '../app/server/log.server';
import { databaseTargets } from '../test/support/databases';
import { createWorkerServer } from './http';
import { JobRunner } from './job-runner';

/** The worker's HTTP shell answers errors in the app's one shape: {error: {code, message}}. */
describe.each(databaseTargets().slice(0, 1))("the worker's HTTP answers ($name)", (target) => {
  it('refuses an unauthenticated wake-up and an unknown path in the shared error shape', async () => {
    const { db, drop } = await target.create();
    const runner = new JobRunner({ db, generator: createOfflineGenerator({ delayMs: 0 }), log: silentLogger });
    const server = createWorkerServer({
      db,
      runner,
      budgetMs: 1000,
      log: silentLogger,
      authenticate: async () => ({ ok: false, reason: 'no bearer token' }),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const wake = await fetch(`${base}/wake`, { method: 'POST' });
      expect(wake.status).toBe(401);
      expect(await wake.json()).toEqual({
        error: { code: 'unauthorized', message: 'Wake-up refused: no bearer token.' },
      });
      const unknown = await fetch(`${base}/nope`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ error: { code: 'not_found', message: 'No route for GET /nope.' } });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runner.stop();
      await drop();
    }
  });
});
