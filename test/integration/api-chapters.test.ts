import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

interface ChapterPage {
  chapters: {
    id: string;
    course: { id: string; slug: string; title: string };
    title: string;
    position: number;
    version: number;
  }[];
  next: string | null;
}

/** GET /api/chapters: how an API caller finds the chapter ids it submits. */
describe.each(databaseTargets())('GET /api/chapters on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapterIds: string[];
  let readToken: string;
  let submitOnlyToken: string;

  beforeAll(async () => {
    test_ = await target.create();
    chapterIds = await seededChapterIds(test_.db);
    app = await createTestApp(test_.db);
    const admin = await app.staffSession('admin');
    const actor = { id: admin.id, email: admin.email, displayName: 'Admin', role: 'admin' as const };
    readToken = (await createApiToken(test_.db, actor, { name: 'reader', scopes: ['read'] })).token;
    submitOnlyToken = (await createApiToken(test_.db, actor, { name: 'submitter', scopes: ['submit'] })).token;
  });
  afterAll(() => test_.drop());

  const get = (query: string, token = readToken) =>
    app.request(`/api/chapters${query}`, { headers: { Authorization: `Bearer ${token}` } });

  it('pages through every chapter with next links, in course and position order', async () => {
    const seen: string[] = [];
    let url: string | null = '?limit=5';
    let pages = 0;
    while (url) {
      const response = await get(url.replace(/^\/api\/chapters/, ''));
      expect(response.status).toBe(200);
      const page = (await response.json()) as ChapterPage;
      expect(page.chapters.length).toBeLessThanOrEqual(5);
      seen.push(...page.chapters.map((chapter) => chapter.id));
      url = page.next;
      pages += 1;
    }
    expect(seen).toEqual(chapterIds);
    expect(pages).toBe(Math.ceil(chapterIds.length / 5));
  });

  it('filters by course slug or id and searches titles', async () => {
    const bySlug = (await (await get('?course=intro-to-typescript')).json()) as ChapterPage;
    expect(bySlug.chapters.map((chapter) => chapter.position)).toEqual([1, 2, 3, 4]);
    expect(bySlug.chapters[0].course.slug).toBe('intro-to-typescript');
    expect(bySlug.next).toBeNull();
    const byId = (await (await get(`?course=${bySlug.chapters[0].course.id}`)).json()) as ChapterPage;
    expect(byId.chapters.map((chapter) => chapter.id)).toEqual(bySlug.chapters.map((chapter) => chapter.id));

    const search = (await (await get('?q=generics')).json()) as ChapterPage;
    expect(search.chapters.map((chapter) => chapter.title)).toEqual(['Generics Without Fear']);
    // LIKE wildcards are literal.
    expect(((await (await get('?q=%25')).json()) as ChapterPage).chapters).toEqual([]);
    expect(((await (await get('?q=_')).json()) as ChapterPage).chapters).toEqual([]);
  });

  it('refuses bad parameters with a 400 naming each one', async () => {
    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=201', 'limit'],
      ['?limit=ten', 'limit'],
      ['?after=not-a-cursor', 'after'],
      ['?q=', 'q'],
      ['?q=a%00b', 'q'],
      ['?q=%ED%A0%80', 'q'],
      ['?course=%00', 'course'],
      ['?sort=title', 'sort'],
      ['?limit=5&limit=6', 'limit'],
    ] as const) {
      const response = await get(query);
      expect(response.status, query).toBe(400);
      const { error } = (await response.json()) as { error: { code: string; fields: Record<string, string[]> } };
      expect(error.code).toBe('invalid_request');
      expect(Object.keys(error.fields), query).toContain(field);
    }
    const unknown = await get('?course=no-such-course');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      error: { code: 'unknown_course', fields: { course: [expect.stringContaining('intro-to-typescript')] } },
    });
  });

  it('needs the read scope', async () => {
    expect((await get('', submitOnlyToken)).status).toBe(403);
    expect((await app.request('/api/chapters')).status).toBe(401);
  });
});
