import { randomUUID } from 'node:crypto';

import { DEFAULT_ROUTING_CONFIG } from '~/domain/routing';
import { BatchGenerateSchema, GenerateChapterSchema } from '~/domain/submit-schemas';

import { publishRoutingVersion, saveRoutingVersion } from './routing-control.server';
import { submitGeneration } from './submit.server';
import { parseEnv } from '../env.server';
import { createOfflineGenerator } from '../generators/offline.server';
import { createRuntime, type Runtime } from '../runtime.server';
import { databaseTargets, type TestDatabase } from '../../../test/support/databases';
import { jobRow, seededChapterIds, watchingQueries } from '../../../test/support/fixtures';

const submitter = { actor: 'cm@switchyard.local', scope: 'staff:test' };
const chapter = (input: Record<string, unknown>) => ({
  kind: 'chapter' as const,
  input: GenerateChapterSchema.parse(input),
});
const batch = (input: Record<string, unknown>) => ({ kind: 'batch' as const, input: BatchGenerateSchema.parse(input) });

describe.each(databaseTargets())('submitGeneration on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];
  let runtime: Runtime;
  let wakes: number;

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    wakes = 0;
    runtime = {
      ...createRuntime(parseEnv({ NODE_ENV: 'test' }), test_.db),
      generator: createOfflineGenerator({ delayMs: 0 }),
      wakeWorker: () => (wakes += 1),
    };
  });
  afterEach(() => test_.drop());

  const jobCount = async () =>
    (await test_.db.query<{ n: number }>('select count(*)::integer as n from public.chapter_content_jobs'))[0].n;

  /** Turns the kill switch on: single chapters are then generated inside the request. */
  async function killSwitchOn() {
    const saved = await saveRoutingVersion(
      test_.db,
      'ops@switchyard.local',
      { ...DEFAULT_ROUTING_CONFIG, hybridEnabled: false },
      'kill switch',
    );
    if (!saved.ok) throw new Error(JSON.stringify(saved));
    await publishRoutingVersion(runtime, 'ops@switchyard.local', saved.version);
  }

  it('queues one chapter in the cloud, wakes the worker, and replays a repeated key without waking it again', async () => {
    const request = chapter({ chapter_id: chapters[0], idempotency_key: 'once' });
    const first = await submitGeneration(runtime, submitter, request);
    expect(first).toMatchObject({ kind: 'queued', created: true, status: 'pending' });
    if (first.kind !== 'queued') return;
    expect(first.decision.destination).toBe('cloud');
    expect(await jobRow(test_.db, first.jobId)).toMatchObject({ destination: 'cloud', created_by: submitter.actor });
    expect(wakes).toBe(1);

    const again = await submitGeneration(runtime, submitter, request);
    expect(again).toMatchObject({ kind: 'queued', created: false, jobId: first.jobId, status: 'pending' });
    expect(wakes).toBe(1);
  });

  it('refuses a key reused for a different request and writes nothing more', async () => {
    await submitGeneration(runtime, submitter, chapter({ chapter_id: chapters[0], idempotency_key: 'k' }));
    const reused = await submitGeneration(
      runtime,
      submitter,
      chapter({ chapter_id: chapters[1], idempotency_key: 'k' }),
    );
    expect(reused.kind).toBe('idempotency_key_reused');
    expect(await jobCount()).toBe(1);
  });

  it('names an unknown chapter, single or in a batch, and writes nothing', async () => {
    const missing = randomUUID();
    expect(await submitGeneration(runtime, submitter, chapter({ chapter_id: missing }))).toEqual({
      kind: 'unknown_chapters',
      message: 'No chapter has this id.',
      unknownIds: [missing],
      fields: { chapter_id: ['no chapter has this id'] },
    });
    const result = await submitGeneration(runtime, submitter, batch({ chapter_ids: [chapters[0], missing] }));
    expect(result).toMatchObject({
      kind: 'unknown_chapters',
      unknownIds: [missing],
      fields: { 'chapter_ids[1]': ['no chapter has this id'] },
    });
    expect(await jobCount()).toBe(0);
    expect(wakes).toBe(0);
  });

  it('looks up the chapters of concurrent submits together, and refuses only the one whose chapter is unknown', async () => {
    const chapterReads: unknown[] = [];
    const watched = watchingQueries(test_.db, (sql, params) => {
      if (sql.includes('from public.chapters where id = any')) chapterReads.push(params?.[0]);
    });
    const shared = { ...runtime, db: watched };
    const missing = randomUUID();
    const ids = [chapters[0], chapters[1], missing, chapters[2], chapters[0]];
    const results = await Promise.all(
      ids.map((id) => submitGeneration(shared, submitter, chapter({ chapter_id: id }))),
    );
    expect(results.map((result) => result.kind)).toEqual(['queued', 'queued', 'unknown_chapters', 'queued', 'queued']);
    expect(results[2]).toMatchObject({ unknownIds: [missing], fields: { chapter_id: ['no chapter has this id'] } });
    // One read for the burst (distinct ids), where each submit used to read alone.
    expect(chapterReads).toEqual([[chapters[0], chapters[1], missing, chapters[2]]]);
    expect(await jobCount()).toBe(4);
  });

  it('with the kill switch on, generates a single chapter at the edge but still queues a batch', async () => {
    await killSwitchOn();
    const single = await submitGeneration(runtime, submitter, chapter({ chapter_id: chapters[0] }));
    expect(single.kind).toBe('generated');
    if (single.kind !== 'generated') return;
    expect(await jobRow(test_.db, single.jobId)).toMatchObject({ destination: 'edge', status: 'succeeded' });
    expect(single.detail?.content).toBeTruthy();
    expect(wakes).toBe(0);

    const queued = await submitGeneration(runtime, submitter, batch({ chapter_ids: chapters.slice(1, 4) }));
    expect(queued.kind).toBe('queued');
    if (queued.kind !== 'queued') return;
    expect(queued.decision).toMatchObject({ destination: 'cloud', reason: { override: 'batch-always-queued' } });
    expect(queued.jobIds).toHaveLength(3);
    for (const id of queued.jobIds) expect((await jobRow(test_.db, id)).destination).toBe('cloud');
    expect(wakes).toBe(1);
  });

  it('at the edge, answers a replayed key with the first generation instead of generating (and paying) again', async () => {
    await killSwitchOn();
    let generations = 0;
    const offline = createOfflineGenerator({ delayMs: 0 });
    runtime = {
      ...runtime,
      generator: { ...offline, generate: (request, hooks) => ((generations += 1), offline.generate(request, hooks)) },
    };
    const request = chapter({ chapter_id: chapters[0], idempotency_key: 'edge-once' });
    const first = await submitGeneration(runtime, submitter, request);
    expect(first.kind).toBe('generated');
    const again = await submitGeneration(runtime, submitter, request);
    expect(again).toMatchObject({ kind: 'generated', jobId: (first as { jobId: string }).jobId });
    expect(generations).toBe(1);
    expect(await jobCount()).toBe(1);

    const reused = await submitGeneration(
      runtime,
      submitter,
      chapter({ chapter_id: chapters[1], idempotency_key: 'edge-once' }),
    );
    expect(reused.kind).toBe('idempotency_key_reused');
    expect(generations).toBe(1);
  });

  it('at the edge, tells a replay that arrives while the first request still generates to follow the job', async () => {
    await killSwitchOn();
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const offline = createOfflineGenerator({ delayMs: 0 });
    runtime = {
      ...runtime,
      generator: { ...offline, generate: async (request, hooks) => (await gate, offline.generate(request, hooks)) },
    };
    const request = chapter({ chapter_id: chapters[0], idempotency_key: 'edge-slow' });
    const first = submitGeneration(runtime, submitter, request);
    await vi.waitFor(async () => expect(await jobCount()).toBe(1));
    const replay = await submitGeneration(runtime, submitter, request);
    expect(replay).toMatchObject({ kind: 'queued', created: false, status: 'running' });
    release();
    expect((await first).kind).toBe('generated');
  });
});
