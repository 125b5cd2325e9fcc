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
    expect(
      await changeRouting(runtime(), actor, { kind: 'save', config, comment: '', publish: false, baseVersion: 0 }),
    ).toMatchObject({
      ok: false,
      kind: 'invalid',
      fields: { comment: ['Say why you change the routing.'] },
    });
    const bad = await changeRouting(runtime(), actor, {
      kind: 'save',
      config: { ...config, canaryPercent: 140 },
      comment: 'too far',
      publish: true,
      baseVersion: 0,
    });
    expect(bad).toMatchObject({ ok: false, kind: 'invalid', fields: { canaryPercent: [expect.any(String)] } });
    expect(await versionCount()).toBe(0);
  });

  it('saves a draft that is not live until published, then flips the kill switch on the newest config', async () => {
    const config = { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 25 };
    const draft = await changeRouting(runtime(), actor, {
      kind: 'save',
      config,
      comment: 'canary 25',
      publish: false,
      baseVersion: 0,
    });
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

  it("refuses the second of two saves from one base with the first one's diff, author and comment, then re-applies it on top", async () => {
    await test_.db.query(
      `insert into public.staff (email, display_name, role) values ('alice@switchyard.local', 'Alice Ops', 'ops')`,
    );
    const v1 = await changeRouting(runtime(), actor, {
      kind: 'save',
      config: { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 10 },
      comment: 'start',
      publish: true,
      baseVersion: 0,
    });
    expect(v1).toMatchObject({ ok: true, version: 1 });
    const v1Config = { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 10 };

    // Alice raises the canary; Bob, still on v1, sends the generate rule to the edge.
    const alice = await changeRouting(runtime(), 'alice@switchyard.local', {
      kind: 'save',
      config: { ...v1Config, canaryPercent: 25 },
      comment: 'Canary to 25%',
      publish: false,
      baseVersion: 1,
    });
    expect(alice).toMatchObject({ ok: true, version: 2 });
    const bobConfig = {
      ...v1Config,
      rules: [{ ...v1Config.rules[0], destination: 'edge' as const }, ...v1Config.rules.slice(1)],
    };
    const bob = await changeRouting(runtime(), 'bob@switchyard.local', {
      kind: 'save',
      config: bobConfig,
      comment: 'Generate at the edge',
      publish: false,
      baseVersion: 1,
    });
    expect(bob).toMatchObject({
      ok: false,
      kind: 'stale',
      message: expect.stringContaining('v2 by Alice Ops ("Canary to 25%")'),
      stale: {
        baseVersion: 1,
        newestVersion: 2,
        since: [
          {
            version: 2,
            author: 'alice@switchyard.local',
            authorName: 'Alice Ops',
            comment: 'Canary to 25%',
            diff: [{ path: 'canaryPercent', kind: 'changed', before: 10, after: 25 }],
          },
        ],
        theirs: [{ path: 'canaryPercent', kind: 'changed', before: 10, after: 25 }],
        mine: [{ path: 'rules[0].destination', kind: 'changed', before: 'cloud', after: 'edge' }],
        conflicting: [],
      },
    });
    expect(await versionCount()).toBe(2);
    if (bob.ok || bob.kind !== 'stale') return;

    // Re-applying on a base that is stale again is refused the same way.
    expect(
      await changeRouting(runtime(), 'bob@switchyard.local', {
        kind: 'reapply',
        changes: bob.stale.mine,
        comment: 'Generate at the edge',
        publish: false,
        baseVersion: 1,
      }),
    ).toMatchObject({ ok: false, kind: 'stale' });

    const reapplied = await changeRouting(runtime(), 'bob@switchyard.local', {
      kind: 'reapply',
      changes: bob.stale.mine,
      comment: 'Generate at the edge',
      publish: true,
      baseVersion: bob.stale.newestVersion,
    });
    expect(reapplied).toMatchObject({ ok: true, kind: 'published', version: 3 });
    const live = await serving();
    expect(live).toMatchObject({ version: 3, config: { canaryPercent: 25 } });
    expect(live.config.rules[0]).toMatchObject({ id: 'generate', destination: 'edge' });
    const [v3] = await test_.db.query<{ based_on: number; diff: unknown }>(
      'select based_on, diff from public.control_config_versions where version = 3',
    );
    expect(v3).toEqual({
      based_on: 2,
      diff: [{ path: 'rules[0].destination', kind: 'changed', before: 'cloud', after: 'edge' }],
    });
  });

  it('names the fields both people changed, and re-applies only the ticked ones', async () => {
    await changeRouting(runtime(), actor, {
      kind: 'save',
      config: { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 25 },
      comment: 'mine first',
      publish: false,
      baseVersion: 0,
    });
    const second = await changeRouting(runtime(), 'bob@switchyard.local', {
      kind: 'save',
      config: { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 40, stickyKey: 'course' },
      comment: 'course-sticky at 40',
      publish: false,
      baseVersion: 0,
    });
    expect(second).toMatchObject({ ok: false, kind: 'stale', stale: { conflicting: ['canaryPercent'] } });
    if (second.ok || second.kind !== 'stale') return;
    const onlySticky = second.stale.mine.filter((change) => change.path === 'stickyKey');
    expect(
      await changeRouting(runtime(), 'bob@switchyard.local', {
        kind: 'reapply',
        changes: onlySticky,
        comment: 'course-sticky',
        publish: false,
        baseVersion: 1,
      }),
    ).toMatchObject({ ok: true, version: 2 });
    const [v2] = await test_.db.query<{ config: { canaryPercent: number; stickyKey: string } }>(
      'select config from public.control_config_versions where version = 2',
    );
    expect(v2.config).toMatchObject({ canaryPercent: 25, stickyKey: 'course' });
  });

  it('lets the kill switch win over newer drafts, naming what it left out, and then refuses edits from before it', async () => {
    await changeRouting(runtime(), actor, {
      kind: 'save',
      config: { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 10 },
      comment: 'canary 10',
      publish: true,
      baseVersion: 0,
    });
    await changeRouting(runtime(), 'bob@switchyard.local', {
      kind: 'save',
      config: { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 60 },
      comment: 'canary 60, not reviewed',
      publish: false,
      baseVersion: 1,
    });
    const killed = await changeRouting(runtime(), actor, { kind: 'kill_switch', hybridEnabled: false, comment: '' });
    expect(killed).toMatchObject({
      ok: true,
      kind: 'published',
      version: 3,
      overrode: [{ version: 2, author: 'bob@switchyard.local', comment: 'canary 60, not reviewed' }],
      message: expect.stringContaining('leaves out v2 by bob@switchyard.local ("canary 60, not reviewed")'),
    });
    // Made from the live v1: the unreviewed 60 % draft did not go live with it.
    expect(await serving()).toMatchObject({ version: 3, config: { canaryPercent: 10, hybridEnabled: false } });
    const stale = await changeRouting(runtime(), 'bob@switchyard.local', {
      kind: 'save',
      config: { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 70 },
      comment: 'still on v2',
      publish: false,
      baseVersion: 2,
    });
    expect(stale).toMatchObject({
      ok: false,
      kind: 'stale',
      stale: { since: [{ version: 3, diff: [{ path: 'hybridEnabled' }] }] },
    });
  });
});
