import Anthropic from '@anthropic-ai/sdk';

import { DEFAULT_PRICES, tokenCostMicros } from '../../app/domain/prices';
import { DEFAULT_ROUTING_CONFIG, type RoutingConfig } from '../../app/domain/routing';
import { BatchGenerateSchema } from '../../app/domain/submit-schemas';
import { createBatchDispatcher } from '../../app/server/batch-dispatcher.server';
import { parseEnv } from '../../app/server/env.server';
import { silentLogger } from '../../app/server/log.server';
import { presentCosts } from '../../app/server/presenters/analytics.server';
import { presentProviderBatches } from '../../app/server/presenters/provider-batches.server';
import { cancelJob, cancelJobs, submitBatch } from '../../app/server/queue.server';
import { createRuntime } from '../../app/server/runtime.server';
import { publishRoutingVersion, saveRoutingVersion } from '../../app/server/services/routing-control.server';
import { submitGeneration } from '../../app/server/services/submit.server';
import { DEFAULT_USAGE, startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { freePort, runEntry } from '../support/app-process';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';

const MODEL = 'claude-haiku-5-5';

/** What one stand-in result costs streamed and in a batch (the stand-in answers with DEFAULT_USAGE). */
const standInUsage = {
  inputTokens: DEFAULT_USAGE.input_tokens,
  outputTokens: DEFAULT_USAGE.output_tokens,
  cacheWrite5mTokens: DEFAULT_USAGE.ephemeral_5m_input_tokens,
  cacheWrite1hTokens: DEFAULT_USAGE.ephemeral_1h_input_tokens,
  cacheReadTokens: DEFAULT_USAGE.cache_read_input_tokens,
};
const total = (cost: ReturnType<typeof tokenCostMicros>) => cost.input + cost.output + cost.cacheWrite + cost.cacheRead;

describe.each(databaseTargets())('the batch dispatcher on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];
  let standIn: AnthropicStandIn;

  beforeAll(async () => {
    standIn = await startAnthropicStandIn();
  });
  afterAll(() => standIn.close());

  beforeEach(async () => {
    standIn.reset();
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(() => test_.drop());

  const client = () => new Anthropic({ apiKey: 'test-key', baseURL: standIn.url, maxRetries: 0 });
  const dispatcher = (options: { maxRequests?: number; ingestChunk?: number; offline?: boolean } = {}) =>
    createBatchDispatcher({
      db: test_.db,
      client: options.offline ? null : client(),
      prices: DEFAULT_PRICES,
      log: silentLogger,
      lingerSeconds: 0,
      firstPollSeconds: 0,
      maxRequests: options.maxRequests,
      ingestChunk: options.ingestChunk,
    });

  /** Queues n batch-destination jobs over the seeded chapters (several jobs per chapter past their number). */
  async function queue(n: number): Promise<string[]> {
    const { batchId } = await submitBatch(
      test_.db,
      { name: `${n} economy chapters`, createdBy: 'cm@switchyard.local' },
      Array.from({ length: n }, (_, i) =>
        newJob(chapters[i % chapters.length], { model: MODEL, destination: 'batch', priority: 'low' }),
      ),
    );
    const rows = await test_.db.query<{ id: string }>(
      'select id from public.chapter_content_jobs where batch_id = $1 order by created_at, id',
      [batchId],
    );
    return rows.map((row) => row.id);
  }

  const statuses = async () =>
    Object.fromEntries(
      (
        await test_.db.query<{ status: string; n: number }>(
          'select status, count(*)::integer as n from public.chapter_content_jobs group by status',
        )
      ).map((row) => [row.status, row.n]),
    );
  const job = async (id: string) =>
    (
      await test_.db.query<{
        status: string;
        attempts: number;
        error_code: string | null;
        error_message: string | null;
        generator: string | null;
        cost_total_micros: string;
        run_after: Date | string;
      }>('select * from public.chapter_content_jobs where id = $1', [id])
    )[0];

  it('puts 1,000 batch jobs into the expected provider batches and completes each once at half price', async () => {
    const ids = await queue(1000);
    // No streaming worker can take them: they wait for the dispatcher.
    expect(await test_.db.query('select * from public.claim_jobs($1, 30, 10)', ['a-streaming-worker'])).toEqual([]);

    const first = await dispatcher({ maxRequests: 300 }).tick();
    expect(first.submitted).toBe(4);
    const created = standIn.batches.list();
    expect(created.map((batch) => batch.requests.length)).toEqual([300, 300, 300, 100]);
    expect(new Set(created.flatMap((batch) => batch.requests.map((request) => request.custom_id)))).toEqual(
      new Set(ids),
    );
    // Built as the streaming path builds it; the course prompt repeats, so it is cached for an hour.
    const params = created[0].requests[0].params as { model: string; system: { cache_control: unknown }[] };
    expect(params.model).toBe(MODEL);
    expect(params.system[0].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(first.ingested).toBe(1000);
    expect(await statuses()).toEqual({ succeeded: 1000 });

    const [versions] = await test_.db.query<{ versions: number; jobs: number }>(
      `select count(*)::integer as versions, count(distinct job_id)::integer as jobs from public.chapter_versions`,
    );
    expect(versions).toEqual({ versions: 1000, jobs: 1000 });

    const streamed = total(tokenCostMicros(DEFAULT_PRICES, MODEL, standInUsage, new Date()));
    const batched = total(tokenCostMicros(DEFAULT_PRICES, MODEL, standInUsage, new Date(), { batch: true }));
    expect(Math.abs(batched * 2 - streamed)).toBeLessThanOrEqual(4);
    const attempts = await test_.db.query<{ destination: string; cost_total_micros: string; n: number }>(
      `select destination, cost_total_micros, count(*)::integer as n from public.job_attempts
       group by destination, cost_total_micros`,
    );
    expect(attempts.map((row) => ({ ...row, cost_total_micros: Number(row.cost_total_micros) }))).toEqual([
      { destination: 'batch', cost_total_micros: batched, n: 1000 },
    ]);
    const providerBatches = await test_.db.query<{ status: string; succeeded: number; saving_micros: string }>(
      'select status, succeeded, saving_micros from public.provider_batches order by created_at',
    );
    expect(providerBatches.map((row) => row.status)).toEqual(['ingested', 'ingested', 'ingested', 'ingested']);
    // Half price: the saving is what was paid again (streamed − batched differs from it only by rounding).
    expect(providerBatches.reduce((sum, row) => sum + Number(row.saving_micros), 0)).toBe(1000 * batched);

    // What the batch page and the Costs page show.
    const [{ batch_id: batchId }] = await test_.db.query<{ batch_id: string }>(
      'select batch_id from public.chapter_content_jobs limit 1',
    );
    const shown = await presentProviderBatches(test_.db, { batchId });
    expect(shown.map((row) => [row.status, row.requests, row.counts.succeeded])).toEqual([
      ['ingested', 300, 300],
      ['ingested', 300, 300],
      ['ingested', 300, 300],
      ['ingested', 100, 100],
    ]);
    expect(shown.every((row) => /^msgbatch_/.test(row.providerBatchId ?? ''))).toBe(true);
    const today = new Date().toISOString().slice(0, 10);
    const costs = await presentCosts(test_.db, { from: today, to: today });
    expect(costs.points.reduce((sum, point) => sum + point.batch, 0)).toBe(1000 * batched);
    expect(costs.points.reduce((sum, point) => sum + point.cloud + point.edge, 0)).toBe(0);

    // Ticking again (a second dispatcher, the sweeper's nudge) writes nothing more.
    await dispatcher().tick();
    expect((await test_.db.query('select * from public.chapter_versions')).length).toBe(1000);
  });

  it('waits for a fuller batch until the oldest job has lingered', async () => {
    await queue(3);
    const patient = createBatchDispatcher({
      db: test_.db,
      client: client(),
      prices: DEFAULT_PRICES,
      log: silentLogger,
      lingerSeconds: 3600,
      maxRequests: 10,
    });
    expect((await patient.tick()).submitted).toBe(0);
    expect(standIn.batches.created).toBe(0);
    await test_.db.query(`update public.chapter_content_jobs set created_at = now() - interval '2 hours'`);
    expect((await patient.tick()).submitted).toBe(1);
  });

  it('sends errored items into a later batch and ends expired ones with the reason', async () => {
    const [errored, expired, fine] = await queue(3);
    let firstBatch = true;
    standIn.batches.behave({
      outcome: (customId) => {
        if (customId === expired) return 'expired';
        if (customId === errored && firstBatch) return 'errored';
        return 'succeeded';
      },
    });
    await dispatcher().tick();
    firstBatch = false;
    expect(await job(errored)).toMatchObject({ status: 'pending', attempts: 1, error_code: 'api_error' });
    expect(await job(expired)).toMatchObject({ status: 'failed', error_code: 'batch_expired' });
    expect((await job(expired)).error_message).toMatch(/expired \(24 hours\)/);
    expect(await job(fine)).toMatchObject({ status: 'succeeded' });

    await dispatcher().tick();
    expect(standIn.batches.list().map((batch) => batch.requests.map((request) => request.custom_id))).toEqual([
      [errored, expired, fine],
      [errored],
    ]);
    expect(await job(errored)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('sends errored retries of a rule that says so to the cloud instead of a later batch', async () => {
    const runtime = { ...createRuntime(parseEnv({ NODE_ENV: 'test' }), test_.db), wakeWorker: () => undefined };
    const config: RoutingConfig = {
      ...DEFAULT_ROUTING_CONFIG,
      rules: DEFAULT_ROUTING_CONFIG.rules.map((rule) =>
        rule.id === 'batch'
          ? {
              ...rule,
              destination: 'batch' as const,
              priority: 'low' as const,
              retry: {
                maxRetries: 2,
                backoff: 'none' as const,
                baseDelayMs: 0,
                maxDelayMs: 0,
                batchRetriesTo: 'cloud' as const,
              },
            }
          : rule,
      ),
    };
    const saved = await saveRoutingVersion(test_.db, 'ops@switchyard.local', config, 'batch retries on cloud');
    if (!saved.ok) throw new Error(JSON.stringify(saved));
    await publishRoutingVersion(runtime, 'ops@switchyard.local', saved.version);
    await submitGeneration(
      runtime,
      { actor: 'cm@switchyard.local', scope: 'staff:test' },
      { kind: 'batch', input: BatchGenerateSchema.parse({ chapter_ids: chapters.slice(0, 3), delivery: 'economy' }) },
    );
    const [errored, alsoErrored, fine] = (
      await test_.db.query<{ id: string }>('select id from public.chapter_content_jobs order by created_at, id')
    ).map((row) => row.id);
    standIn.batches.behave({
      outcome: (customId) => (customId === errored || customId === alsoErrored ? 'errored' : 'succeeded'),
    });
    await dispatcher().tick();

    for (const id of [errored, alsoErrored]) {
      const row = await job(id);
      expect(row).toMatchObject({ status: 'pending', attempts: 1, error_code: 'api_error' });
      expect(new Date(row.run_after).getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    }
    expect(await job(fine)).toMatchObject({ status: 'succeeded' });
    // A streaming worker takes them; the dispatcher does not put them into another batch.
    const claimed = await test_.db.query<{ id: string; destination: string }>(
      'select id, destination from public.claim_jobs($1, 30, 10)',
      ['a-streaming-worker'],
    );
    expect(new Set(claimed.map((row) => row.id))).toEqual(new Set([errored, alsoErrored]));
    expect(claimed.every((row) => row.destination === 'cloud')).toBe(true);
    await dispatcher().tick();
    expect(standIn.batches.created).toBe(1);
  });

  it('completes the rest after a crash while reading results, writing no chapter twice', async () => {
    const ids = await queue(400);
    standIn.batches.behave({ breakResultsAfter: 250 });
    await dispatcher({ ingestChunk: 100 }).tick();
    const partial = await statuses();
    const [cut] = await test_.db.query<{ status: string; last_error: string | null }>(
      'select status, last_error from public.provider_batches',
    );
    expect(cut.status).toBe('ended');
    expect(cut.last_error).toMatch(/^Reading it failed, trying again/);
    expect(partial.succeeded).toBeGreaterThanOrEqual(200);
    expect(partial.succeeded).toBeLessThan(400);
    expect(partial.succeeded + partial.running).toBe(400);

    // A new dispatcher (the restarted worker) reads the whole file again.
    await dispatcher({ ingestChunk: 100 }).tick();
    expect(await statuses()).toEqual({ succeeded: 400 });
    expect((await test_.db.query('select last_error from public.provider_batches'))[0]).toEqual({ last_error: null });
    const perJob = await test_.db.query<{ n: number }>(
      `select count(*)::integer as n from public.chapter_versions where job_id = any($1::uuid[]) group by job_id`,
      [ids],
    );
    expect(perJob).toHaveLength(400);
    expect(perJob.every((row) => row.n === 1)).toBe(true);
    const [attempts] = await test_.db.query<{ n: number }>('select count(*)::integer as n from public.job_attempts');
    expect(attempts.n).toBe(400);
  });

  it.skipIf(target.name !== 'postgres')(
    'finishes a batch whose worker was killed (SIGKILL) while reading its results, writing no chapter twice',
    { timeout: 120_000 },
    async () => {
      const ids = await queue(1200);
      standIn.batches.behave({ resultLineDelayMs: 3 });
      const worker = runEntry('worker/main.ts', {
        DATABASE_URL: test_.url!,
        PORT: String(await freePort()),
        ANTHROPIC_API_KEY: 'test-key',
        ANTHROPIC_BASE_URL: standIn.url,
        BATCH_LINGER_SECONDS: '0',
        BATCH_POLL_SECONDS: '1',
      });
      try {
        // The worker's dispatcher submits, polls, and starts completing the results 500 at a time.
        await expect
          .poll(async () => (await statuses()).succeeded ?? 0, { timeout: 60_000, interval: 100 })
          .toBeGreaterThanOrEqual(500);
      } finally {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
      const killed = await statuses();
      expect(killed.succeeded).toBeLessThan(1200);
      expect(killed.running).toBeGreaterThan(0);

      // The killed worker's poll set the next look at the batch (2 s after it saw it ended); set-based
      // ingest reaches 500 results before that, so the restarted worker's tick waits until it is due.
      await expect
        .poll(
          async () =>
            (
              await test_.db.query<{ due: boolean }>('select next_poll_at <= now() as due from public.provider_batches')
            )[0].due,
          { timeout: 30_000, interval: 100 },
        )
        .toBe(true);
      await dispatcher().tick();
      expect(await statuses()).toEqual({ succeeded: 1200 });
      const [written] = await test_.db.query<{ versions: number; jobs: number; attempts: number }>(
        `select count(*)::integer as versions, count(distinct job_id)::integer as jobs,
                (select count(*)::integer from public.job_attempts) as attempts
         from public.chapter_versions where job_id = any($1::uuid[])`,
        [ids],
      );
      expect(written).toEqual({ versions: 1200, jobs: 1200, attempts: 1200 });
    },
  );

  it('cancels before submission, cancels the provider batch when all its jobs are, and discards a lone cancelled result', async () => {
    const [before, ...rest] = await queue(5);
    expect(await cancelJob(test_.db, before, 'cm@switchyard.local')).toBe('cancelled');
    standIn.batches.behave({ endAfterPolls: 100 });
    const batches = dispatcher();
    await batches.tick();
    expect(standIn.batches.list()[0].requests.map((request) => request.custom_id)).toEqual(rest);

    // One job of a running provider batch cancelled: the batch goes on, that result is discarded (but billed).
    await cancelJob(test_.db, rest[0], 'cm@switchyard.local');
    await batches.tick();
    expect(standIn.batches.list()[0].status).toBe('in_progress');
    standIn.batches.endAll();
    await batches.tick();
    expect(await job(rest[0])).toMatchObject({ status: 'cancelled', error_code: 'cancelled' });
    expect(Number((await job(rest[0])).cost_total_micros)).toBeGreaterThan(0);
    expect((await job(rest[0])).error_message).toMatch(/result arrived and was discarded \(the provider billed it\)/);
    expect(await job(rest[1])).toMatchObject({ status: 'succeeded' });

    // All jobs of a provider batch cancelled while it runs: the provider batch is cancelled.
    const more = await queue(3);
    await batches.tick();
    await cancelJobs(test_.db, more, 'cm@switchyard.local');
    await batches.tick();
    const second = standIn.batches.list()[1];
    expect(second.cancelInitiatedAt).not.toBeNull();
    for (const id of more) expect(await job(id)).toMatchObject({ status: 'cancelled' });
    const [provider] = await test_.db.query<{ status: string; canceled: number }>(
      'select status, canceled from public.provider_batches where provider_batch_id = $1',
      [second.id],
    );
    expect(provider).toEqual({ status: 'ingested', canceled: 3 });
  });

  it('fails the jobs with the provider message on a 4xx create and retries them after a 529', async () => {
    const [refused] = await queue(1);
    standIn.batches.behave({
      createError: { status: 400, type: 'invalid_request_error', message: 'requests: too many tokens', times: 1 },
    });
    await dispatcher().tick();
    expect(await job(refused)).toMatchObject({ status: 'failed', error_code: 'batch_create_refused' });
    expect((await job(refused)).error_message).toMatch(/too many tokens/);

    const [overloaded] = await queue(1);
    standIn.batches.behave({ createError: { status: 529, type: 'overloaded_error', message: 'Overloaded', times: 1 } });
    await dispatcher().tick();
    expect(await job(overloaded)).toMatchObject({ status: 'pending', attempts: 0 });
    await dispatcher().tick();
    expect(await job(overloaded)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('without an API key generates the batch offline, labelled as such, at no cost', async () => {
    const [id] = await queue(1);
    await dispatcher({ offline: true }).tick();
    expect(await job(id)).toMatchObject({ status: 'succeeded', generator: 'offline' });
    expect(Number((await job(id)).cost_total_micros)).toBe(0);
    const [provider] = await test_.db.query<{ provider: string; status: string }>(
      'select provider, status from public.provider_batches',
    );
    expect(provider).toEqual({ provider: 'offline', status: 'ingested' });
    expect(standIn.batches.created).toBe(0);
  });

  it('routes economy delivery to a batch rule, asap and the kill switch to the cloud', async () => {
    const runtime = { ...createRuntime(parseEnv({ NODE_ENV: 'test' }), test_.db), wakeWorker: () => undefined };
    const publish = async (config: RoutingConfig) => {
      const saved = await saveRoutingVersion(test_.db, 'ops@switchyard.local', config, 'economy batches');
      if (!saved.ok) throw new Error(JSON.stringify(saved));
      await publishRoutingVersion(runtime, 'ops@switchyard.local', saved.version);
    };
    const economyRule = {
      ...DEFAULT_ROUTING_CONFIG,
      rules: DEFAULT_ROUTING_CONFIG.rules.map((rule) =>
        rule.id === 'batch' ? { ...rule, destination: 'batch' as const, priority: 'low' as const } : rule,
      ),
    };
    await publish(economyRule);
    const submit = (delivery?: 'asap' | 'economy') =>
      submitGeneration(
        runtime,
        { actor: 'cm@switchyard.local', scope: 'staff:test' },
        { kind: 'batch', input: BatchGenerateSchema.parse({ chapter_ids: chapters.slice(0, 2), delivery }) },
      );
    const economy = await submit('economy');
    expect(economy).toMatchObject({ kind: 'queued', decision: { destination: 'batch' } });
    const asap = await submit();
    expect(asap).toMatchObject({
      kind: 'queued',
      decision: { destination: 'cloud', reason: { override: 'asap-delivery' } },
    });
    await publish({ ...economyRule, hybridEnabled: false });
    const killed = await submit('economy');
    expect(killed).toMatchObject({
      kind: 'queued',
      decision: { destination: 'cloud', reason: { override: 'kill-switch' } },
    });
    const destinations = await test_.db.query<{ destination: string; n: number }>(
      `select destination, count(*)::integer as n from public.chapter_content_jobs group by destination order by 1`,
    );
    expect(destinations).toEqual([
      { destination: 'batch', n: 2 },
      { destination: 'cloud', n: 4 },
    ]);
  });
});
