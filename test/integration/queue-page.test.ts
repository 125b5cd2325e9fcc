import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

describe.each(databaseTargets())('the Queue page on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    app = await createTestApp(test_.db);
  });
  afterEach(() => test_.drop());

  it('queues pasted ids that repeat each other, and ticked ones, once each', async () => {
    const cm = await app.staffSession('content_manager');
    const pasted = [...chapters.slice(0, 8), ...chapters.slice(0, 4)].join('\n');
    const response = await app.request('/submit', {
      method: 'POST',
      cookie: cm.cookie,
      body: app.form({ mode: 'batch', csv: pasted, chapter_ids: [chapters[0]] }),
    });
    expect(response.status).toBe(302);
    const batchId = response.headers.get('location')!.split('/').pop();
    const rows = await test_.db.query<{ chapter_id: string }>(
      'select chapter_id from public.chapter_content_jobs where batch_id = $1',
      [batchId],
    );
    expect(rows.map((row) => row.chapter_id).sort()).toEqual(chapters.slice(0, 8).sort());
  });
});
