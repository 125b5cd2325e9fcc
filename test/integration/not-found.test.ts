import { databaseTargets, type TestDatabase } from '../support/databases';
import { createTestApp, type TestApp } from '../support/remix-app';

describe.each(databaseTargets().slice(0, 1))('a URL nothing answers ($name)', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  beforeAll(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db);
  });
  afterAll(() => test_.drop());

  it('is a 404 page logged as one line without a stack', async () => {
    const admin = await app.staffSession('admin');
    const errorsLogged: unknown[][] = [];
    const errors = vi.spyOn(console, 'error').mockImplementation((...args) => void errorsLogged.push(args));
    const lines: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const response = await app.request('/no-such-page', { cookie: admin.cookie });
      expect(response.status).toBe(404);
      expect(await response.text()).toContain('404');
    } finally {
      errors.mockRestore();
      stdout.mockRestore();
    }
    expect(errorsLogged).toEqual([]);
    const logged = lines.filter((line) => line.includes('/no-such-page'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0])).toMatchObject({ severity: 'INFO', message: 'not found', path: '/no-such-page' });
    expect(logged[0]).not.toMatch(/\n\s+at /);
  });
});
