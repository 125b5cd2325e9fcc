import { analyseRollouts, controlRollout } from './rollout-analysis.server';
import { rolloutEvents, rolloutTrend, startRollout } from './rollout.server';
import { listRoutingVersions } from './routing-control.server';
import { activeRoutingConfig, forgetActiveRoutingConfig } from '../routing-config.server';
import { databaseTargets, type TestDatabase } from '../../../test/support/databases';
import { seededChapterIds } from '../../../test/support/fixtures';
import { silentLogger } from '../log.server';

const ops = 'ops@switchyard.local';
const baseline = { destination: 'cloud', model: 'claude-sonnet-5-5', maxTokens: 4000 };
const candidate = { destination: 'cloud', model: 'claude-haiku-5-5', maxTokens: 3000 };
const plan = {
  steps: [10, 50, 100],
  intervalSeconds: 60,
  minSample: 20,
  maxFailures: 2,
  thresholds: [
    { metric: 'success_rate', kind: 'relative', limit: 5 },
    { metric: 'p95_ttft_ms', kind: 'relative', limit: 50 },
    { metric: 'cost_per_success_micros', kind: 'relative', limit: 20 },
    { metric: 'max_tokens_rate', kind: 'absolute', limit: 10 },
  ],
};

interface Outcomes {
  failures?: number;
  costMicros?: number;
  ttftMs?: number;
}

describe.each(databaseTargets())('analyseRollouts on $name', (target) => {
  let test_: TestDatabase;
  let chapter: string;
  const runtime = () => ({ db: test_.db, edgeConfig: null });

  beforeEach(async () => {
    test_ = await target.create();
    [chapter] = await seededChapterIds(test_.db);
  });
  afterEach(() => test_.drop());

  /** Jobs of one variant that just finished, with the outcomes and timings the test sets. */
  async function seedJobs(
    rolloutId: string,
    variant: 'baseline' | 'candidate',
    count: number,
    outcomes: Outcomes = {},
  ) {
    const { failures = 0, costMicros = 30_000, ttftMs = 800 } = outcomes;
    await test_.db.query(
      `insert into public.chapter_content_jobs (chapter_id, status, model, max_tokens, created_by, rollout_id, variant,
         created_at, started_at, first_token_at, finished_at, output_tokens, cost_output_micros, cost_total_micros, error_code)
       select $1, case when i <= $4 then 'failed' else 'succeeded' end, 'claude-haiku-5-5', 1000, 'generator', $2, $3,
         now() - interval '20 seconds', now() - interval '19 seconds',
         now() - interval '19 seconds' + make_interval(secs => $5::float8 / 1000), now(), 1500, $6, $6,
         case when i <= $4 then 'api_error' end
       from generate_series(1, $7) as i`,
      [chapter, rolloutId, variant, failures, ttftMs, costMicros, count],
    );
  }

  /** The interval is up: the next sweep analyses the rollout. */
  const intervalUp = (rolloutId: string) =>
    test_.db.query(`update public.rollouts set next_analysis_at = now() - interval '1 second' where id = $1`, [
      rolloutId,
    ]);

  async function start() {
    const started = await startRollout(test_.db, ops, { ruleId: 'generate', baseline, candidate, plan });
    if (!started.ok) throw new Error(JSON.stringify(started));
    return started.rollout.id;
  }

  async function interval(id: string, candidateOutcomes: Outcomes = {}, sample = 40) {
    await seedJobs(id, 'baseline', sample);
    await seedJobs(id, 'candidate', sample, candidateOutcomes);
    await intervalUp(id);
    const [result] = await analyseRollouts(runtime(), silentLogger);
    return result;
  }

  it('promotes a good candidate through every step into a new published config version', async () => {
    const id = await start();
    expect(await analyseRollouts(runtime(), silentLogger)).toEqual([]); // not due yet
    expect(await interval(id)).toMatchObject({ decision: 'step', weight: 50 });
    expect(await interval(id)).toMatchObject({ decision: 'step', weight: 100 });
    // At 100 % no baseline traffic is left: the baseline's history since the start stands in.
    await seedJobs(id, 'candidate', 40);
    await intervalUp(id);
    const [promoted] = await analyseRollouts(runtime(), silentLogger);
    expect(promoted).toMatchObject({ decision: 'promote', publishedVersion: 1 });

    forgetActiveRoutingConfig(test_.db);
    const live = await activeRoutingConfig(runtime());
    expect(live.version).toBe(1);
    expect(live.config.rules.find((rule) => rule.id === 'generate')).toMatchObject({
      destination: 'cloud',
      model: 'claude-haiku-5-5',
      maxTokens: 3000,
    });
    expect((await listRoutingVersions(test_.db))[0]).toMatchObject({
      author: 'rollout-analysis',
      publishedAt: expect.any(Date),
    });
    expect((await rolloutEvents(test_.db, id)).map((event) => event.event)).toEqual([
      'started',
      'step',
      'step',
      'promoted',
      'published',
    ]);
    // The Routing page's charts: each analysis, both sides' figures, at the weight it decided.
    const trend = await rolloutTrend(test_.db, id);
    expect(trend.map((point) => [point.analysis, point.weight])).toEqual([
      [1, 50],
      [2, 100],
      [3, 100],
    ]);
    for (const point of trend) {
      expect(point.baseline.success_rate).toEqual(expect.any(Number));
      expect(point.candidate.success_rate).toEqual(expect.any(Number));
    }
  });

  it.each([
    ['10 % more failures', { failures: 4 }, 'success_rate'],
    ['30 % higher cost per chapter', { costMicros: 39_000 }, 'cost_per_success_micros'],
    ['2× p95 TTFT', { ttftMs: 1_600 }, 'p95_ttft_ms'],
  ])('rolls back a candidate with %s within two intervals, with the metric and its numbers', async (_, bad, metric) => {
    const id = await start();
    expect(await interval(id, bad)).toMatchObject({ decision: 'hold', weight: 10 });
    const rolledBack = await interval(id, bad);
    expect(rolledBack).toMatchObject({ decision: 'rollback', weight: 0 });
    expect(rolledBack.reason).toMatch(
      new RegExp(`^${metric}: candidate [\\d.]+ vs baseline [\\d.]+ \\(limit [\\d.]+\\)`),
    );
    const [rollout] = await test_.db.query<{ state: string; weight: string; outcome: { reason: string } }>(
      'select state, weight, outcome from public.rollouts where id = $1',
      [id],
    );
    expect(rollout).toMatchObject({ state: 'rolled_back', outcome: { reason: rolledBack.reason } });
    expect(Number(rollout.weight)).toBe(0);
    const [audited] = await test_.db.query<{ detail: { reason: string } }>(
      `select detail from public.audit_log where action = 'rollout.rollback' and target_id = $1`,
      [id],
    );
    expect(audited.detail.reason).toBe(rolledBack.reason);
    // Alerted once, through the alerts the sweep posts to the webhook.
    expect(
      await test_.db.query(`select kind, message from public.spend_alerts where dedupe_key = $1`, [
        `rollout_rolled_back:${id}`,
      ]),
    ).toEqual([{ kind: 'rollout_rolled_back', message: expect.stringContaining(rolledBack.reason!) }]);
    // Rolled back: the rule is left alone (no config version), and nothing more is analysed.
    expect(await listRoutingVersions(test_.db)).toEqual([]);
    await intervalUp(id);
    expect(await analyseRollouts(runtime(), silentLogger)).toEqual([]);
  });

  it('never promotes on too few samples', async () => {
    const id = await start();
    for (let round = 0; round < 4; round += 1)
      expect(await interval(id, {}, 5)).toMatchObject({ verdict: 'wait', decision: 'wait', weight: 10 });
    const [rollout] = await test_.db.query<{ step_index: number; state: string }>(
      'select step_index, state from public.rollouts where id = $1',
      [id],
    );
    expect(rollout).toEqual({ step_index: 0, state: 'running' });
  });

  it('makes one decision when two sweeps run at once', async () => {
    const id = await start();
    await seedJobs(id, 'baseline', 40);
    await seedJobs(id, 'candidate', 40);
    await intervalUp(id);
    const [a, b] = await Promise.all([
      analyseRollouts(runtime(), silentLogger),
      analyseRollouts(runtime(), silentLogger),
    ]);
    expect([...a, ...b]).toHaveLength(1);
    expect((await rolloutEvents(test_.db, id)).map((event) => event.event)).toEqual(['started', 'step']);
  });

  it('lets ops pause (no analysis), resume, and promote now into a published version, each audited', async () => {
    const id = await start();
    expect(await controlRollout(runtime(), ops, id, 'pause')).toMatchObject({ ok: true, rollout: { state: 'paused' } });
    await seedJobs(id, 'baseline', 40);
    await seedJobs(id, 'candidate', 40);
    await intervalUp(id);
    expect(await analyseRollouts(runtime(), silentLogger)).toEqual([]);
    expect(await controlRollout(runtime(), ops, id, 'pause')).toMatchObject({ ok: false, kind: 'finished' });
    expect(await controlRollout(runtime(), ops, id, 'resume')).toMatchObject({
      ok: true,
      rollout: { state: 'running' },
    });
    const promoted = await controlRollout(runtime(), ops, id, 'promote');
    expect(promoted).toMatchObject({
      ok: true,
      rollout: { state: 'promoted' },
      message: expect.stringMatching(/version 1/),
    });
    forgetActiveRoutingConfig(test_.db);
    expect((await activeRoutingConfig(runtime())).config.rules.find((rule) => rule.id === 'generate')).toMatchObject({
      model: 'claude-haiku-5-5',
    });
    expect(await controlRollout(runtime(), ops, id, 'abort')).toMatchObject({ ok: false, kind: 'finished' });
    const audits = await test_.db.query<{ action: string }>(
      `select action from public.audit_log where action like 'rollout.%' order by id`,
    );
    expect(audits.map((row) => row.action)).toEqual([
      'rollout.start',
      'rollout.pause',
      'rollout.resume',
      'rollout.promote',
    ]);
  });
});
