import { randomUUID } from 'node:crypto';

import { presentOnRouting } from './routing-presence.server';
import { databaseTargets, type TestDatabase } from '../../../test/support/databases';
import { createTestApp, type TestApp } from '../../../test/support/remix-app';

describe.each(databaseTargets())('Routing page presence on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;

  beforeEach(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db);
  });
  afterEach(() => test_.drop());

  const beat = (cookie: string, fields: Record<string, string>) =>
    app.request('/routing/presence', { method: 'POST', cookie, body: app.form(fields) });

  it('tells each op who else has the page open, on which version, and who has unsaved changes', async () => {
    const alice = await app.staffSession('ops', 'alice@example.com');
    const bob = await app.staffSession('admin', 'bob@example.com');
    const aliceTab = randomUUID();
    expect(await (await beat(alice.cookie, { tab: aliceTab, base: '3', dirty: 'false' })).json()).toEqual({
      others: [],
    });
    const seenByBob = await beat(bob.cookie, { tab: randomUUID(), base: '3', dirty: 'true' });
    expect(seenByBob.status).toBe(200);
    expect(await seenByBob.json()).toEqual({
      others: [{ staffId: alice.id, name: 'ops', baseVersion: 3, dirty: false, seenAt: expect.any(String) }],
    });
    // Alice's next beat (now with an edit of her own) shows Bob's unsaved changes.
    const seenByAlice = (await (await beat(alice.cookie, { tab: aliceTab, base: '3', dirty: 'true' })).json()) as {
      others: { name: string; dirty: boolean }[];
    };
    expect(seenByAlice.others).toMatchObject([{ name: 'admin', dirty: true, baseVersion: 3 }]);
    // The Routing page itself lists them on load.
    const page = await (await app.request('/routing', { cookie: alice.cookie })).text();
    expect(page).toContain('admin, unsaved changes on v3');

    // A tab that stops beating drops off after 30 s.
    await test_.db.query(`update public.routing_presence set seen_at = now() - interval '31 seconds'`);
    expect(await presentOnRouting(test_.db, alice.id)).toEqual([]);
  });

  it('refuses a heartbeat without a tab id or version (400, naming the fields), and from a role without the page', async () => {
    const ops = await app.staffSession('ops');
    const bad = await beat(ops.cookie, { tab: 'not-a-uuid', base: '-1' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 'invalid_input', fields: { tab: ['must be a uuid'], base: ['must be a version number'] } },
    });
    const cm = await app.staffSession('content_manager');
    expect((await beat(cm.cookie, { tab: randomUUID(), base: '0' })).status).toBe(403);
    expect(await test_.db.query('select 1 from public.routing_presence')).toEqual([]);
  });
});
