import type { Queryable } from './db/port.server';
import { presentJobDetail } from './presenters/job-status.server';
import { presentLearning } from './presenters/learning.server';
import { appendProgress, claimJobs, submitAnalyticsJob, submitJob } from './queue.server';
import { streamedTextWriter } from './streamed-text.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { newJob, seededChapterIds } from '../../test/support/fixtures';

describe.each(databaseTargets())('streamed text on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  /** The database, with the text and offset of every append_progress call it is sent. */
  const recordingAppends = (db: Queryable, fail?: () => boolean) => {
    const sent: { offset: unknown; text: unknown }[] = [];
    const recording: Queryable = {
      exec: (sql) => db.exec(sql),
      async query<Row>(sql: string, params?: readonly unknown[]) {
        const rows = await db.query<Row>(sql, params);
        if (sql.includes('append_progress')) {
          sent.push({ offset: params?.[3], text: params?.[4] });
          // The write committed but its answer is lost on the way back.
          if (fail?.()) throw new Error('connection reset');
        }
        return rows;
      },
    };
    return { recording, sent };
  };

  it('sends only what each report adds to the text, and the job page shows all of it', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    const [job] = await claimJobs(db, 'w', 30);
    const { recording, sent } = recordingAppends(db);
    const write = streamedTextWriter(recording, { jobId, workerId: 'w', attempt: job.attempts });

    expect(await write('# Generics', 3)).toBe(true);
    expect(await write('# Generics\n\nA 🧩 type', 8)).toBe(true);
    expect(await write('# Generics\n\nA 🧩 type', 9)).toBe(true);
    expect(await write('# Generics\n\nA 🧩 type parameter.', 12)).toBe(true);

    expect(sent).toEqual([
      { offset: 0, text: '# Generics' },
      { offset: 10, text: '\n\nA 🧩 type' },
      // Only the token count moved: no text is sent.
      { offset: 20, text: '' },
      // The puzzle piece is one character to PostgreSQL and two UTF-16 units to JavaScript.
      { offset: 20, text: ' parameter.' },
    ]);
    const detail = await presentJobDetail(db, jobId);
    expect(detail?.streamedText).toBe('# Generics\n\nA 🧩 type parameter.');
    expect(detail?.job).toMatchObject({ status: 'running' });
  });

  it('sends a write whose answer was lost again with what followed, and stores each character once', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    const [job] = await claimJobs(db, 'w', 30);
    let lose = false;
    const { recording, sent } = recordingAppends(db, () => lose);
    const write = streamedTextWriter(recording, { jobId, workerId: 'w', attempt: job.attempts });

    expect(await write('Chapter', 1)).toBe(true);
    lose = true;
    await expect(write('Chapter one', 2)).rejects.toThrow('connection reset');
    lose = false;
    expect(await write('Chapter one begins', 4)).toBe(true);

    expect(sent.map((write) => write.text)).toEqual(['Chapter', ' one', ' one begins']);
    expect((await presentJobDetail(db, jobId))?.streamedText).toBe('Chapter one begins');
  });

  it('keeps a character cut in half by a report whole, for the next write', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    const [job] = await claimJobs(db, 'w', 30);
    const { recording, sent } = recordingAppends(db);
    const write = streamedTextWriter(recording, { jobId, workerId: 'w', attempt: job.attempts });
    const puzzle = '🧩';
    expect(await write(`Piece ${puzzle[0]}`, 2)).toBe(true);
    expect(await write(`Piece ${puzzle} fits`, 3)).toBe(true);
    expect(sent.map((write) => write.text)).toEqual(['Piece ', `${puzzle} fits`]);
    expect((await presentJobDetail(db, jobId))?.streamedText).toBe(`Piece ${puzzle} fits`);
  });

  it('records the tokens of a write sent again, though its text is stored already', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    const [job] = await claimJobs(db, 'w', 30);
    const append = (text: string, outputTokens: number) =>
      appendProgress(db, { jobId, workerId: 'w', attempt: job.attempts, offset: 0, text, outputTokens });
    expect(await append('All of it', 5)).toBe(true);
    expect(await append('All of it', 7)).toBe(true);
    const [row] = await db.query<{ progress_output_tokens: number; progress_length: number }>(
      'select progress_output_tokens, progress_length from public.chapter_content_jobs where id = $1',
      [jobId],
    );
    expect(row).toEqual({ progress_output_tokens: 7, progress_length: 9 });
    expect((await presentJobDetail(db, jobId))?.streamedText).toBe('All of it');
  });

  it('takes the previous release’s whole-text progress writes as appends, during a rolling deploy', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'old-worker', 30);
    const record = (text: string) =>
      db.query<{ held: boolean }>('select public.record_progress($1, $2, $3, $4) as held', [
        jobId,
        'old-worker',
        text.length,
        text,
      ]);
    expect(await record('An old')).toEqual([{ held: true }]);
    expect(await record('An old worker still')).toEqual([{ held: true }]);
    expect(
      await db.query('select public.record_progress($1, $2, 1, $3) as held', [jobId, 'someone-else', 'x']),
    ).toEqual([{ held: false }]);
    const chunks = await db.query<{ text: string }>(
      'select text from public.job_progress_chunks where job_id = $1 order by start_offset',
      [jobId],
    );
    expect(chunks.map((chunk) => chunk.text)).toEqual(['An old', ' worker still']);
  });

  it('refuses the writer once its lease is gone', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    const [job] = await claimJobs(db, 'w', 30);
    const write = streamedTextWriter(db, { jobId, workerId: 'w', attempt: job.attempts });
    expect(await write('Kept', 1)).toBe(true);
    await db.query(`update public.chapter_content_jobs set lease_owner = 'another' where id = $1`, [jobId]);
    expect(await write('Kept, and more', 3)).toBe(false);
    expect((await presentJobDetail(db, jobId))?.streamedText).toBe('Kept');
  });

  it("shows an analytics job's steps so far on the Learning page", async () => {
    const { db } = test_;
    const range = { from: '2026-11-01', to: '2026-11-02' };
    const { jobId } = await submitAnalyticsJob(db, { ...range, createdBy: 'finance@t' });
    const [job] = await claimJobs(db, 'w', 30);
    expect(job.id).toBe(jobId);
    const write = streamedTextWriter(db, { jobId, workerId: 'w', attempt: job.attempts });
    await write('1/3 Computing', 1);
    await write('1/3 Computing\n2/3 Computed 0 courses', 2);

    const learning = await presentLearning(db, range);
    expect(learning.computation).toMatchObject({
      jobId,
      status: 'running',
      progressText: '1/3 Computing\n2/3 Computed 0 courses',
    });
  });
});
