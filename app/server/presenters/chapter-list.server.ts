import type { Queryable } from '../db/port.server';

/** Where a page of GET /api/chapters ends: the next page starts after this (course slug, position). */
export interface ChapterCursor {
  slug: string;
  position: number;
}

export interface ChapterListItem {
  id: string;
  course: { id: string; slug: string; title: string };
  title: string;
  position: number;
  version: number;
  updated_at: Date | null;
}

export type ChapterListResult =
  | { kind: 'page'; chapters: ChapterListItem[]; next: ChapterCursor | null }
  | { kind: 'unknown_course'; courses: string[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Chapters in course-slug then position order, a page at a time (keyset paging: a page costs the
 * same wherever it starts). `course` is a course id or slug; `q` matches anywhere in the title,
 * case-insensitively.
 */
export async function presentChapterList(
  db: Queryable,
  filter: { course?: string; q?: string; limit: number; after?: ChapterCursor },
): Promise<ChapterListResult> {
  let courseId: string | null = null;
  if (filter.course !== undefined) {
    const [course] = await db.query<{ id: string }>(
      `select id from public.courses where ${UUID.test(filter.course) ? 'id = $1::uuid' : 'slug = $1'}`,
      [filter.course],
    );
    if (!course) {
      const courses = await db.query<{ slug: string }>('select slug from public.courses order by slug limit 20');
      return { kind: 'unknown_course', courses: courses.map((row) => row.slug) };
    }
    courseId = course.id;
  }
  // LIKE's own wildcards in the search are literal characters.
  const pattern = filter.q === undefined ? null : `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await db.query<{
    id: string;
    course_id: string;
    course_slug: string;
    course_title: string;
    title: string;
    position: number;
    content_version: number;
    content_updated_at: Date | null;
  }>(
    `select ch.id, c.id as course_id, c.slug as course_slug, c.title as course_title, ch.title, ch.position,
            ch.content_version, ch.content_updated_at
     from public.chapters ch join public.courses c on c.id = ch.course_id
     where ($1::uuid is null or ch.course_id = $1::uuid)
       and ($2::text is null or lower(ch.title) like $2::text)
       and ($3::text is null or (c.slug, ch.position) > ($3::text, $4::integer))
     order by c.slug, ch.position
     limit $5`,
    [courseId, pattern, filter.after?.slug ?? null, filter.after?.position ?? null, filter.limit + 1],
  );
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    kind: 'page',
    chapters: page.map((row) => ({
      id: row.id,
      course: { id: row.course_id, slug: row.course_slug, title: row.course_title },
      title: row.title,
      position: row.position,
      version: row.content_version,
      updated_at: row.content_updated_at,
    })),
    next: rows.length > filter.limit && last ? { slug: last.course_slug, position: last.position } : null,
  };
}
