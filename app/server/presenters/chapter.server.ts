import type { Queryable } from '../db/port.server';

export interface ChapterView {
  id: string;
  courseId: string;
  courseTitle: string;
  position: number;
  title: string;
  outline: string;
  content: string | null;
  contentVersion: number;
  contentUpdatedAt: Date | null;
}

export async function presentChapter(db: Queryable, id: string): Promise<ChapterView | null> {
  const [row] = await db.query<{
    id: string;
    course_id: string;
    course_title: string;
    position: number;
    title: string;
    outline: string;
    content: string | null;
    content_version: number;
    content_updated_at: Date | null;
  }>(
    `select ch.id, ch.course_id, c.title as course_title, ch.position, ch.title, ch.outline, ch.content, ch.content_version, ch.content_updated_at
     from public.chapters ch join public.courses c on c.id = ch.course_id where ch.id = $1`,
    [id],
  );
  if (!row) return null;
  return {
    id: row.id,
    courseId: row.course_id,
    courseTitle: row.course_title,
    position: row.position,
    title: row.title,
    outline: row.outline,
    content: row.content,
    contentVersion: row.content_version,
    contentUpdatedAt: row.content_updated_at,
  };
}
