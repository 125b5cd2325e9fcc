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

export interface ChapterVersionView {
  version: number;
  createdAt: Date;
  model: string;
  /** The generation that wrote it; null for a revert. */
  jobId: string | null;
  /** For a revert: the version it put back, and who asked. */
  revertedFrom: number | null;
  createdBy: string | null;
}

/** A chapter's versions, newest first (the Chapter page's history and its revert buttons). */
export async function presentChapterVersions(
  db: Queryable,
  chapterId: string,
  limit = 50,
): Promise<ChapterVersionView[]> {
  const rows = await db.query<{
    version: number;
    created_at: Date;
    model: string;
    job_id: string | null;
    reverted_from: number | null;
    created_by: string | null;
  }>(
    `select version, created_at, model, job_id, reverted_from, created_by
     from public.chapter_versions where chapter_id = $1 order by version desc limit $2`,
    [chapterId, limit],
  );
  return rows.map((row) => ({
    version: row.version,
    createdAt: row.created_at,
    model: row.model,
    jobId: row.job_id,
    revertedFrom: row.reverted_from,
    createdBy: row.created_by,
  }));
}
