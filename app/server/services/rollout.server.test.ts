import { rolloutVariant } from '~/domain/rollout';
import { BatchGenerateSchema } from '~/domain/submit-schemas';

import { abortRollout, listRollouts, rolloutEvents, startRollout } from './rollout.server';
import { submitGeneration } from './submit.server';
import { parseEnv } from '../env.server';
import { createOfflineGenerator } from '../generators/offline.server';
import { createRuntime, type Runtime } from '../runtime.server';
import { databaseTargets, type TestDatabase } from '../../../test/support/databases';
import { seededChapterIds } from '../../../test/support/fixtures';

const ops = 'ops@switchyard.local';
const baseline = { destination: 'cloud', model: 'claude-sonnet-5-5', maxTokens: 4000 };
const candidate = { destination: 'cloud', model: 'claude-haiku-5-5', maxTokens: 3000 };
const plan = {
  steps: [10, 50, 100],
  intervalSeconds: 300,
  minSample: 20,
  maxFailures: 2,
  thresholds: [
    { metric: 'success_rate', kind: 'relative', limit: 5 },
    { metric: 'cost_per_success_micros', kind: 'relative', limit: 20 },
  ],
};

describe.each(databaseTargets())('rollouts on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];
  let runtime: Runtime;

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    runtime = {
      ...createRuntime(parseEnv({ NODE_ENV: 'test' }), test_.db),
      generator: createOfflineGenerator({ delayMs: 0 }),
      wakeWorker: () => undefined,
    };
  });
  afterEach(() => test_.drop());

  const count = async (table: string) =>
    (await test_.db.query<{ n: number }>(`select count(*)::integer as n from public.${table}`))[0].n;

  it('refuses bad plans with field errors and writes nothing', async () => {
    const refused = async (input: Record<string, unknown>) => {
      const result = await startRollout(test_.db, ops, { ruleId: 'generate', baseline, candidate, plan, ...input });
      expect(result.ok).toBe(false);
      return result.ok ? {} : result.fields;
    };
    expect(await refused({ plan: { ...plan, steps: [10, 5, 100] } })).toHaveProperty(['plan.steps[1]']);
    expect(await refused({ plan: { ...plan, steps: [10, 140] } })).toHaveProperty(['plan.steps[1]']);
    expect(
      await refused({ plan: { ...plan, thresholds: [{ metric: 'success_rate', kind: 'absolute', limit: 120 }] } }),
    ).toHaveProperty(['plan.thresholds[0].limit']);
    expect(
      await refused({ plan: { ...plan, thresholds: [{ metric: 'vibes', kind: 'relative', limit: 1 }] } }),
    ).toHaveProperty(['plan.thresholds[0].metric']);
    expect(await refused({ candidate: baseline })).toHaveProperty(['candidate']);
    expect(await refused({ candidate: { ...candidate, model: 'gpt-unpriced' } })).toHaveProperty(['candidate.model']);
    expect(await refused({ ruleId: 'nope' })).toHaveProperty(['ruleId']);
    expect(await count('rollouts')).toBe(0);
  });

  it('starts one rollout per rule, routes chapters stickily by weight, records the variant, and aborts to 0 %', async () => {
    const started = await startRollout(test_.db, ops, {
      ruleId: 'batch',
      baseline,
      candidate,
      plan: { ...plan, steps: [50, 100] },
    });
    expect(started).toMatchObject({ ok: true, rollout: { state: 'running', weight: 50, stepIndex: 0 } });
    if (!started.ok) return;
    const second = await startRollout(test_.db, ops, { ruleId: 'batch', baseline, candidate, plan });
    expect(second).toMatchObject({ ok: false, kind: 'conflict', fields: { ruleId: [expect.any(String)] } });

    const ids = chapters.slice(0, 20);
    const submitted = await submitGeneration(
      runtime,
      { actor: ops, scope: 'staff:test' },
      {
        kind: 'batch',
        input: BatchGenerateSchema.parse({ chapter_ids: ids, model: 'claude-opus-5-5', max_tokens: 1000 }),
      },
    );
    expect(submitted.kind).toBe('queued');
    const jobs = await test_.db.query<{
      chapter_id: string;
      model: string;
      max_tokens: number;
      variant: string;
      rollout_id: string;
    }>('select chapter_id, model, max_tokens, variant, rollout_id from public.chapter_content_jobs');
    expect(jobs).toHaveLength(ids.length);
    for (const job of jobs) {
      const expected = rolloutVariant(started.rollout.id, job.chapter_id, 50);
      expect(job).toMatchObject({
        rollout_id: started.rollout.id,
        variant: expected,
        model: expected === 'candidate' ? candidate.model : baseline.model,
        max_tokens: expected === 'candidate' ? candidate.maxTokens : baseline.maxTokens,
      });
    }
    expect(new Set(jobs.map((job) => job.variant)).size).toBe(2);

    const aborted = await abortRollout(test_.db, ops, started.rollout.id, 'changed my mind');
    expect(aborted).toMatchObject({ ok: true, rollout: { state: 'aborted', weight: 0 } });
    expect((await rolloutEvents(test_.db, started.rollout.id)).map((event) => event.event)).toEqual([
      'started',
      'aborted',
    ]);
    expect(await abortRollout(test_.db, ops, started.rollout.id, 'again')).toMatchObject({
      ok: false,
      kind: 'finished',
    });
    const audits = await test_.db.query<{ action: string }>(
      `select action from public.audit_log where action like 'rollout.%' order by id`,
    );
    expect(audits.map((row) => row.action)).toEqual(['rollout.start', 'rollout.abort']);
    expect((await listRollouts(test_.db))[0]).toMatchObject({ state: 'aborted' });

    // After the abort the rule is no longer under a rollout: jobs carry the request's model again.
    const other = chapters[20] ?? chapters[0];
    await submitGeneration(
      runtime,
      { actor: ops, scope: 'staff:test' },
      {
        kind: 'batch',
        input: BatchGenerateSchema.parse({
          chapter_ids: [other],
          model: 'claude-opus-5-5',
          max_tokens: 1000,
          name: 'after',
        }),
      },
    );
    const [after] = await test_.db.query<{ model: string; variant: string | null }>(
      `select j.model, j.variant from public.chapter_content_jobs j join public.batches b on b.id = j.batch_id where b.name = 'after'`,
    );
    expect(after).toEqual({ model: 'claude-opus-5-5', variant: null });
  });
});
