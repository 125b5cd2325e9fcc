import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { claimJobs, completeJob, submitJob, type AttemptUsage } from '../../app/server/queue.server';
import { setMonthlyBudget } from '../../app/server/services/budget.server';
import { sweep } from '../../app/server/sweeper.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp } from '../support/remix-app';

const spend = (cost: number): AttemptUsage => ({
  generator: 'anthropic',
  inputTokens: 1,
  outputTokens: 1,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  busyMs: 1,
  costMicros: { input: 0, output: cost, cacheWrite: 0, cacheRead: 0, cloudRun: 0, vercel: 0 },
});

/** A local webhook receiver: records every POST; answers 500 to the first `failFirst` of them. */
async function startReceiver(failFirst: number) {
  const received: { text: string; status: number }[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const status = received.length < failFirst ? 500 : 200;
      received.push({ text: (JSON.parse(body) as { text: string }).text, status });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'oops');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/spend`, received, close: () => server.close() };
}

describe.each(databaseTargets())('spend alerts on $name', (target) => {
  let test_: TestDatabase;
  beforeEach(async () => {
    test_ = await target.create();
  });
  afterEach(() => test_.drop());

  it('posts exactly one webhook per budget threshold crossed, retrying a failed one', async () => {
    const receiver = await startReceiver(1);
    const chapters = await seededChapterIds(test_.db);
    await setMonthlyBudget(test_.db, 'finance@example.com', 100_000);
    const sweepNow = () => sweep(test_.db, () => undefined, 30, { alertWebhookUrl: receiver.url });
    try {
      // 60 %, then 85 %, then 110 % of the budget, sweeping a few times at each step.
      for (const [i, cost] of [60_000, 25_000, 25_000].entries()) {
        const { jobId } = await submitJob(test_.db, newJob(chapters[i]));
        await claimJobs(test_.db, 'w1', 30);
        await completeJob(test_.db, jobId, 'w1', { content: '# c', stopReason: 'end_turn', usage: spend(cost) });
        for (let sweeps = 0; sweeps < 3; sweeps += 1) await sweepNow();
        // The failed post's backoff is over (instead of waiting 30 s).
        await test_.db.query('update public.spend_alerts set next_attempt_at = now() where delivered_at is null');
      }
      await sweepNow();
      await sweepNow();
      const delivered = receiver.received.filter((post) => post.status === 200).map((post) => post.text);
      expect(delivered).toHaveLength(3);
      expect(delivered[0]).toMatch(
        /^Switchyard spend alert: Spend this month is \$0\.06: 50% of the \$0\.10 budget\.$/,
      );
      expect(delivered[1]).toContain('80% of the $0.10 budget');
      expect(delivered[2]).toContain('100% of the $0.10 budget; claims of jobs that are not high priority are paused');
      // The first post failed and was sent again: four posts for three alerts.
      expect(receiver.received).toHaveLength(4);
      expect(receiver.received[0]).toMatchObject({ status: 500, text: receiver.received[1].text });
    } finally {
      receiver.close();
    }
  });

  it('never lets a dead webhook stop the sweep, and shows alerts to finance and admin only', async () => {
    const chapters = await seededChapterIds(test_.db);
    const { jobId } = await submitJob(test_.db, newJob(chapters[0]));
    await claimJobs(test_.db, 'w1', 30);
    await completeJob(test_.db, jobId, 'w1', { content: '# c', stopReason: 'end_turn', usage: spend(90_000) });
    await setMonthlyBudget(test_.db, 'finance@example.com', 100_000);
    // Nothing listens on port 9 (discard): every post fails at once.
    const result = await sweep(test_.db, () => undefined, 30, { alertWebhookUrl: 'http://127.0.0.1:9/hook' });
    expect(result).toMatchObject({ reaped: 0 });
    const [alert] = await test_.db.query<{ delivery_attempts: number; last_error: string; delivered_at: Date | null }>(
      "select delivery_attempts, last_error, delivered_at from public.spend_alerts where kind = 'budget_80'",
    );
    expect(alert).toMatchObject({ delivery_attempts: 1, delivered_at: null });

    const app = await createTestApp(test_.db);
    for (const [role, shown] of [
      ['finance', true],
      ['admin', true],
      ['content_manager', false],
      ['ops', false],
    ] as const) {
      const session = await app.staffSession(role);
      const html = await (await app.request('/jobs', { cookie: session.cookie })).text();
      expect(html.includes('data-testid="spend-alerts"')).toBe(shown);
    }
  });
});
