import { DEFAULT_ROUTING_CONFIG } from '~/domain/routing';

import { changeRouting } from './routing-control.server';
import { activeRoutingConfig, forgetActiveRoutingConfig } from '../routing-config.server';
import { databaseTargets, type TestDatabase } from '../../../test/support/databases';

describe.each(databaseTargets())('changeRouting on $name', (target) => {
  let test_: TestDatabase;
  const runtime = () => ({ db: test_.db, edgeConfig: null });
  const actor = 'ops@switchyard.local';
  const serving = () => {
    forgetActiveRoutingConfig(test_.db);
    return activeRoutingConfig(runtime());
  };
  const versionCount = async () =>
    (await test_.db.query<{ n: number }>('select count(*)::integer as n from public.control_config_versions'))[0].n;

  beforeEach(async () => {
    test_ = await target.create();
  });
  afterEach(() => test_.drop());

  it('refuses a change without a comment or with a bad field, naming the field, and saves nothing', async () => {
    const config = { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 10 };
    expect(await changeRouting(runtime(), actor, { kind: 'save', config, comment: '', publish: false })).toMatchObject({
      ok: false,
      kind: 'invalid',
      fields: { comment: ['Say why you change the routing.'] },
    });
    const bad = await changeRouting(runtime(), actor, {
      kind: 'save',
      config: { ...config, canaryPercent: 140 },
      comment: 'too far',
      publish: true,
    });
    expect(bad).toMatchObject({ ok: false, kind: 'invalid', fields: { canaryPercent: [expect.any(String)] } });
    expect(await versionCount()).toBe(0);
  });

  it('saves a draft that is not live until published, then flips the kill switch on the newest config', async () => {
    const config = { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 25 };
    const draft = await changeRouting(runtime(), actor, { kind: 'save', config, comment: 'canary 25', publish: false });
    expect(draft).toMatchObject({ ok: true, kind: 'saved', version: 1 });
    expect((await serving()).config.canaryPercent).toBe(DEFAULT_ROUTING_CONFIG.canaryPercent);

    expect(await changeRouting(runtime(), actor, { kind: 'publish', version: 1 })).toMatchObject({
      ok: true,
      kind: 'published',
      version: 1,
    });
    expect(await serving()).toMatchObject({ version: 1, config: { canaryPercent: 25 } });

    const killed = await changeRouting(runtime(), actor, { kind: 'kill_switch', hybridEnabled: false, comment: '' });
    expect(killed).toMatchObject({ ok: true, kind: 'published', version: 2 });
    expect(await serving()).toMatchObject({ version: 2, config: { canaryPercent: 25, hybridEnabled: false } });

    expect(await changeRouting(runtime(), actor, { kind: 'revert', version: 1 })).toMatchObject({
      ok: true,
      kind: 'published',
      version: 3,
    });
    expect(await serving()).toMatchObject({ version: 3, config: { hybridEnabled: true } });
    expect(await changeRouting(runtime(), actor, { kind: 'publish', version: 9 })).toMatchObject({
      ok: false,
      kind: 'not_published',
      status: 404,
    });
  });
});
