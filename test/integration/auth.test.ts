import { createHash } from 'node:crypto';

import { authenticateApiToken, createApiToken, revokeApiToken } from '../../app/server/auth/api-tokens.server';
import { setStaffDisabled } from '../../app/server/services/staff.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { createTestApp, PASSWORD, type TestApp } from '../support/remix-app';

describe.each(databaseTargets())('sign-in, sessions and the security baseline on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;

  beforeEach(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  it('sends anonymous visitors to sign-in and back to where they were going', async () => {
    const response = await app.request('/jobs?status=failed');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/sign-in?redirectTo=%2Fjobs%3Fstatus%3Dfailed');
  });

  it('signs in with a password into an HttpOnly, SameSite=Lax session cookie', async () => {
    await app.staffSession('content_manager', 'cm@example.com');
    const response = await app.request('/sign-in', {
      method: 'POST',
      body: app.form({ email: 'CM@example.com', password: PASSWORD, redirectTo: '/jobs' }),
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/jobs');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const page = await app.request('/jobs', { cookie: cookie.split(';')[0] });
    expect(page.status).toBe(200);
  });

  it('refuses a wrong password without saying which part was wrong, and never redirects off-site', async () => {
    await app.staffSession('ops', 'ops@example.com');
    const wrong = await app.request('/sign-in', {
      method: 'POST',
      body: app.form({ email: 'ops@example.com', password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That email and password do not match a staff account.');
    const unknown = await app.request('/sign-in', {
      method: 'POST',
      body: app.form({ email: 'nobody@example.com', password: 'nope' }),
    });
    expect(unknown.status).toBe(401);
    const offsite = await app.request('/sign-in', {
      method: 'POST',
      body: app.form({ email: 'ops@example.com', password: PASSWORD, redirectTo: '//evil.example/x' }),
    });
    expect(offsite.headers.get('location')).toBe('/');
  });

  it('rate-limits repeated failures for an account, even when the password is then right, and audits them', async () => {
    await app.staffSession('finance', 'fin@example.com');
    for (let i = 0; i < 5; i += 1) {
      expect(
        (
          await app.request('/sign-in', {
            method: 'POST',
            body: app.form({ email: 'fin@example.com', password: `guess-${i}` }),
          })
        ).status,
      ).toBe(401);
    }
    const limited = await app.request('/sign-in', {
      method: 'POST',
      body: app.form({ email: 'fin@example.com', password: PASSWORD }),
    });
    expect(limited.status).toBe(429);
    expect(await limited.text()).toContain('Too many failed sign-ins');
    const actions = await test_.db.query<{ action: string }>(
      `select action from public.audit_log where actor = 'fin@example.com' order by id`,
    );
    expect(actions.map((row) => row.action)).toEqual([
      'sign_in.succeeded',
      ...Array(5).fill('sign_in.failed'),
      'sign_in.rate_limited',
    ]);
  });

  it('ends a session at once on sign-out and when the staff member is disabled', async () => {
    const cm = await app.staffSession('content_manager');
    expect((await app.request('/', { cookie: cm.cookie })).status).toBe(200);
    const signOut = await app.request('/sign-out', { method: 'POST', cookie: cm.cookie });
    expect(signOut.status).toBe(302);
    expect(signOut.headers.get('set-cookie')).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
    expect((await app.request('/', { cookie: cm.cookie })).status).toBe(302);

    const admin = await app.staffSession('admin');
    const other = await app.staffSession('ops');
    expect((await app.request('/', { cookie: other.cookie })).status).toBe(200);
    const disable = await app.request('/admin/staff', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({ intent: 'disable', staffId: other.id }),
    });
    expect(disable.status).toBe(200);
    expect((await app.request('/', { cookie: other.cookie })).status).toBe(302);
    const again = await app.request('/sign-in', {
      method: 'POST',
      body: app.form({ email: other.email, password: PASSWORD }),
    });
    expect(again.status).toBe(403);
    expect(await again.text()).toContain('This staff account is disabled');
  });

  it('refuses a cross-site post inside the action too (no Origin, Sec-Fetch-Site: cross-site)', async () => {
    const admin = await app.staffSession('admin');
    const body = app.form({
      intent: 'create',
      email: 'new@example.com',
      displayName: 'New',
      role: 'ops',
      password: 'long enough password',
    });
    const refused = await app.request('/admin/staff', {
      method: 'POST',
      cookie: admin.cookie,
      body,
      headers: { Origin: '', 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(refused.status).toBe(403);
    expect(await test_.db.query(`select 1 from public.staff where email = 'new@example.com'`)).toEqual([]);
  });

  it('shows an API token once and stores only its hash; a revoked token stops working', async () => {
    const admin = await app.staffSession('admin');
    const created = await app.request('/admin/tokens?_data=routes/admin.tokens', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({ name: 'CMS', scopes: ['submit', 'read'] }),
    });
    expect(created.status).toBe(200);
    const { token } = (await created.json()) as { token: string };
    expect(token).toMatch(/^sy_[A-Za-z0-9_-]{43}$/);
    const [stored] = await test_.db.query<Record<string, unknown>>('select * from public.api_tokens');
    expect(stored.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(token);
    const listing = await (await app.request('/admin/tokens', { cookie: admin.cookie })).text();
    expect(listing).toContain('CMS');
    expect(listing).not.toContain(token);

    expect(await authenticateApiToken(test_.db, token)).toMatchObject({ name: 'CMS', scopes: ['submit', 'read'] });
    const [used] = await test_.db.query<{ last_used_at: Date | null }>('select last_used_at from public.api_tokens');
    expect(used.last_used_at).toBeInstanceOf(Date);
    const staff = { id: admin.id, email: admin.email, displayName: 'admin', role: 'admin' as const };
    expect(await revokeApiToken(test_.db, staff, stored.id as string)).toBe(true);
    expect(await authenticateApiToken(test_.db, token)).toBeNull();
    const other = await createApiToken(test_.db, staff, { name: 'Script', scopes: ['read'] });
    expect(await authenticateApiToken(test_.db, `${other.token}x`)).toBeNull();
  });

  it('sends security headers: a nonce CSP that matches every inline script, no framing, nosniff', async () => {
    const cm = await app.staffSession('content_manager');
    const response = await app.request('/', { cookie: cm.cookie });
    const csp = response.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+'(;|$)/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    const html = await response.text();
    const inlineScripts = [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)];
    expect(inlineScripts.length).toBeGreaterThan(0);
    for (const [, attributes] of inlineScripts) expect(attributes).toContain(`nonce="${nonce}"`);
    const data = await app.request('/?_data=root', { cookie: cm.cookie });
    expect(data.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('lets an admin add, re-role and disable staff, auditing each change', async () => {
    const admin = await app.staffSession('admin');
    const add = await app.request('/admin/staff', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({
        intent: 'create',
        email: 'Writer@Example.com',
        displayName: 'Writer',
        role: 'content_manager',
        password: 'a long password!',
      }),
    });
    expect(add.status).toBe(200);
    const [writer] = await test_.db.query<{ id: string; email: string; password_hash: string }>(
      `select id, email, password_hash from public.staff where email = 'writer@example.com'`,
    );
    expect(writer.password_hash).toMatch(/^scrypt\$/);
    expect(writer.password_hash).not.toContain('a long password!');
    const duplicate = await app.request('/admin/staff', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({
        intent: 'create',
        email: 'writer@example.com',
        displayName: 'W',
        role: 'ops',
        password: 'another long password',
      }),
    });
    expect(duplicate.status).toBe(409);
    const bad = await app.request('/admin/staff', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({ intent: 'create', email: 'not-an-email', displayName: '', role: 'boss' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Enter a valid email address.');
    await app.request('/admin/staff', {
      method: 'POST',
      cookie: admin.cookie,
      body: app.form({ intent: 'role', staffId: writer.id, role: 'ops' }),
    });
    await setStaffDisabled(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      writer.id,
      true,
    );
    const actions = await test_.db.query<{ action: string }>(
      `select action from public.audit_log where target_id = $1 order by id`,
      [writer.id],
    );
    expect(actions.map((row) => row.action)).toEqual(['staff.create', 'staff.change_role', 'staff.disable']);
  });
});
