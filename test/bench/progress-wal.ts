/**
 * npm run bench:progress-wal — WAL bytes per progress write: one job streams a ~16 KB text in 60
 * writes (a generation's 250 ms throttle over 15 s) through the worker's writer (appends, ADR 0025),
 * measured as pg_current_wal_lsn() before and after. Run it on a PostgreSQL server nobody else writes to (BENCH_DATABASE_URL): the LSN counts
 * every session's WAL. Three jobs in a row: the first after a CHECKPOINT (each page's first change
 * then carries a full-page image, as in production after every checkpoint), the next two without.
 */
import { randomUUID } from 'node:crypto';

import type { Database } from '../../app/server/db/port.server';
import { claimJobs, submitJob, type AttemptUsage } from '../../app/server/queue.server';
import { streamedTextWriter } from '../../app/server/streamed-text.server';
import { freshDatabase, manyChapters } from './support';

const WRITES = 60;
/** The attempt's usage so far, which every progress write of a generation carries. */
const usage = (outputTokens: number): AttemptUsage => ({
  generator: 'anthropic',
  inputTokens: 1_200,
  outputTokens: Math.round(outputTokens),
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  busyMs: 4_000,
  costMicros: { input: 1_200, output: Math.round(outputTokens) * 5, cloudRun: 96 },
});
const TEXT_CHARS = Number(process.env.BENCH_PROGRESS_CHARS ?? 16_384);

/**
 * Prose-like text from a seeded generator: 4,000 made-up words of 1 to 4 syllables, a sentence
 * break now and then. pglz stores it at about the ratio it stores generated Markdown (printed).
 */
function streamedText(seed: number): string {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state >> 8;
  };
  const syllables =
    'ka to ri men sa lo ver in de pa ty gen ro ble ci on ar es um il pre con di tra mo nu fe ga bi ze ho ly qua ster ux wi jo pe cal dro min sel tor ad vi'.split(
      ' ',
    );
  const words = Array.from({ length: 4_000 }, () =>
    Array.from({ length: 1 + (next() % 4) }, () => syllables[next() % syllables.length]).join(''),
  );
  let text = '# Chapter\n\n';
  while (text.length < TEXT_CHARS) {
    text += words[next() % words.length] + (next() % 12 === 0 ? '.\n\n' : ' ');
  }
  return text.slice(0, TEXT_CHARS);
}

/** The text's size in a table column (compressed as a whole streamed text would be); temp tables write no WAL. */
async function storedSize(db: Database, text: string): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('create temporary table stored_text (text text) on commit drop');
    await tx.query('insert into stored_text values ($1)', [text]);
    const [row] = await tx.query<{ size: number }>('select pg_column_size(text) as size from stored_text');
    return row.size;
  });
}

async function main() {
  const { db } = await freshDatabase('bench_progress_wal', 2);
  const [chapter] = await manyChapters(db, 1);
  const lsn = async () => (await db.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn'))[0].lsn;
  const walBytes = async (from: string) =>
    Number((await db.query<{ n: string }>('select pg_current_wal_lsn() - $1::pg_lsn as n', [from]))[0].n);
  try {
    for (const round of [1, 2, 3]) {
      await submitJob(db, { chapterId: chapter, model: 'claude-haiku-5-5', maxTokens: 8000, createdBy: 'bench' });
      const [job] = await claimJobs(db, `bench-${randomUUID()}`, 300);
      if (round === 1) await db.query('checkpoint');
      const text = streamedText(round);
      const writeProgress = streamedTextWriter(db, {
        jobId: job.id,
        workerId: job.lease_owner!,
        attempt: job.attempts,
      });
      const start = await lsn();
      for (let i = 1; i <= WRITES; i++) {
        const upTo = Math.round((text.length * i) / WRITES);
        await writeProgress(text.slice(0, upTo), Math.round(upTo / 4), usage(upTo / 4));
      }
      const bytes = await walBytes(start);
      console.log(
        `job ${round}${round === 1 ? ' (after a checkpoint)' : ''}: ${WRITES} writes of a ${text.length}-char text, ` +
          `${bytes} WAL bytes, ${Math.round(bytes / WRITES)} per write`,
      );
    }
    console.log(`the text as PostgreSQL would store it whole: ${await storedSize(db, streamedText(1))} bytes (pglz)`);
  } finally {
    await db.close();
  }
}

await main();
