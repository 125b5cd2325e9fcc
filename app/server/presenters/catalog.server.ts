import { estimateTokens, buildChapterPrompt } from '~/domain/generation';

import type { Queryable } from '../db/port.server';

export interface CatalogCourse {
  id: string;
  title: string;
  chapters: { id: string; position: number; title: string; version: number; promptTokens: number }[];
}

/** Courses and their chapters for the Submit page's pickers, with each chapter's prompt size. */
export async function presentCatalog(db: Queryable): Promise<CatalogCourse[]> {
  const rows = await db.query<{
    course_id: string;
    course_title: string;
    audience: string;
    style_guide: string;
    id: string;
    position: number;
    title: string;
    outline: string;
    content_version: number;
  }>(
    `select c.id as course_id, c.title as course_title, c.audience, c.style_guide,
            ch.id, ch.position, ch.title, ch.outline, ch.content_version
     from public.courses c join public.chapters ch on ch.course_id = c.id
     order by c.title, ch.position`,
  );
  const courses = new Map<string, CatalogCourse>();
  for (const row of rows) {
    let course = courses.get(row.course_id);
    if (!course) {
      course = { id: row.course_id, title: row.course_title, chapters: [] };
      courses.set(row.course_id, course);
    }
    const prompt = buildChapterPrompt({
      course: { title: row.course_title, audience: row.audience, styleGuide: row.style_guide },
      chapter: { position: row.position, title: row.title, outline: row.outline },
    });
    course.chapters.push({
      id: row.id,
      position: row.position,
      title: row.title,
      version: row.content_version,
      promptTokens: estimateTokens(prompt.system) + estimateTokens(prompt.user),
    });
  }
  return [...courses.values()];
}
