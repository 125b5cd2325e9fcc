import { parseEnv } from '../../app/server/env.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { createTestApp, type TestApp } from '../support/remix-app';

describe.each(databaseTargets())('the Admin forms on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;

  beforeEach(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db);
  });
  afterEach(() => test_.drop());

  const staffCount = async (email: string) =>
    (await test_.db.query('select 1 from public.staff where email = $1', [email])).length;

  it('refuses a staff member without a password when sign-in is by password, and takes one with Supabase Auth', async () => {
    const admin = await app.staffSession('admin');
    const add = (email: string) =>
      app.request('/admin/staff', {
        method: 'POST',
        cookie: admin.cookie,
        body: app.form({ intent: 'create', email, displayName: 'New', role: 'ops', password: '' }),
      });

    const refused = await add('new@example.com');
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('A password is required when sign-in is by password.');
    expect(await staffCount('new@example.com')).toBe(0);

    // With Supabase Auth the member signs in by email, so no password is needed.
    app.runtime.env = parseEnv({
      NODE_ENV: 'test',
      SUPABASE_URL: 'https://project.supabase.test',
      SUPABASE_ANON_KEY: 'anon-key',
    });
    const added = await add('sso@example.com');
    expect(added.status).toBe(200);
    expect(await staffCount('sso@example.com')).toBe(1);
  });

  it('revokes an API token only on the confirming second step', async () => {
    const admin = await app.staffSession('admin');
    const created = await app.request('/admin/tokens', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({ name: 'CMS', scopes: ['submit', 'read'] }),
    });
    expect(created.status).toBe(200);
    const [{ id }] = await test_.db.query<{ id: string }>('select id from public.api_tokens');
    const revoked = async () =>
      (await test_.db.query<{ revoked_at: Date | null }>('select revoked_at from public.api_tokens'))[0].revoked_at;

    const page = await (await app.request('/admin/tokens', { cookie: admin.cookie })).text();
    expect(page).toContain('Revoke CMS for good');

    const unconfirmed = await app.request('/admin/tokens', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({ intent: 'revoke', tokenId: id }),
    });
    expect(unconfirmed.status).toBe(400);
    expect(await revoked()).toBeNull();

    const confirmed = await app.request('/admin/tokens', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({ intent: 'revoke', tokenId: id, confirm: 'yes' }),
    });
    expect(confirmed.status).toBe(200);
    expect(await revoked()).not.toBeNull();
  });

  it('offers the analytics scope (unchecked) and creates a token with it', async () => {
    const admin = await app.staffSession('admin', 'admin-scopes@example.com');
    const page = await (await app.request('/admin/tokens', { cookie: admin.cookie })).text();
    expect(page).toMatch(/<input type="checkbox" name="scopes" value="analytics"\/>/);
    const created = await app.request('/admin/tokens', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({ name: 'Nightly report', scopes: ['analytics'] }),
    });
    expect(created.status).toBe(200);
    const [row] = await test_.db.query<{ scopes: string[] }>(
      `select scopes from public.api_tokens where name = 'Nightly report'`,
    );
    expect(row.scopes).toEqual(['analytics']);
  });
});
