import { Logger, makeWorkerUtils, run } from 'graphile-worker';

/**
 * The yardstick bench:queue measures this project's queue against (issue 18): graphile-worker,
 * tuned as its own performance docs tune it — a local queue of 500 jobs per fetch and completions
 * batched per tick — on a fresh database of its own on the same server, with the same number of
 * no-op jobs. It writes no chapter versions, events or ledger rows: it is the floor of what a
 * PostgreSQL queue costs per job here, not a like-for-like workload.
 */
export async function graphileWorkerJobsPerSecond(
  databaseUrl: string,
  jobs: number,
): Promise<{ jobsPerSecond: number; seconds: number; done: number }> {
  const silent = new Logger(() => () => undefined);
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger: silent });
  try {
    await utils.migrate();
    for (let offset = 0; offset < jobs; offset += 1000) {
      await utils.addJobs(
        Array.from({ length: Math.min(1000, jobs - offset) }, (_, i) => ({
          identifier: 'noop',
          payload: { n: offset + i },
        })),
      );
    }
  } finally {
    await utils.release();
  }

  let done = 0;
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const runner = await run({
    connectionString: databaseUrl,
    concurrency: 24,
    maxPoolSize: 11,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: silent,
    taskList: {
      noop: async () => {
        done += 1;
        if (done === jobs) finish();
      },
    },
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  });
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  return { jobsPerSecond: done / seconds, seconds, done };
}
