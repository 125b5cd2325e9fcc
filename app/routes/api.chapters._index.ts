import { json } from '@remix-run/node';
import { z } from 'zod';

import { apiRoute } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { presentChapterList, type ChapterCursor } from '~/server/presenters/chapter-list.server';

export const MAX_CHAPTERS_PER_PAGE = 200;
const DEFAULT_CHAPTERS_PER_PAGE = 50;

/**
 * Text a person could have typed: not blank, no NUL. Malformed UTF-8 in the URL (an encoded lone
 * surrogate, say) reaches the loader as U+FFFD, since the URL is re-serialised on the way in, so
 * that is refused too, as are lone surrogates.
 */
const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\u0000'), 'must not contain a NUL character')
    .refine(
      (value) => !MALFORMED.test(value),
      'must be valid UTF-8 text (it has a malformed or replacement character)',
    );

const MALFORMED = /\uFFFD|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const CursorSchema = z.object({ s: z.string().min(1).max(200), p: z.number().int().min(0) });

const QuerySchema = z.object({
  course: Text(200).optional(),
  q: Text(200).optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `must be a whole number from 1 to ${MAX_CHAPTERS_PER_PAGE}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(1, `must be a whole number from 1 to ${MAX_CHAPTERS_PER_PAGE}`)
        .max(MAX_CHAPTERS_PER_PAGE, `must be at most ${MAX_CHAPTERS_PER_PAGE}`),
    )
    .optional(),
  after: z
    .string()
    .max(400, 'is not a cursor from a "next" link')
    .transform((value, ctx): ChapterCursor => {
      const cursor = decodeCursor(value);
      if (!cursor) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor from a "next" link' });
        return z.NEVER;
      }
      return cursor;
    })
    .optional(),
});

const KNOWN_PARAMS = new Set(Object.keys(QuerySchema.shape));

/**
 * GET /api/chapters?course=&q=&limit=&after= — chapter ids for API callers (a `read` token or a
 * staff session): filter by course (id or slug) and title, a page at a time. `next` is the URL of
 * the following page, or null on the last one.
 */
export const loader = apiRoute({
  permission: 'jobs.view',
  handle: async ({ request, runtime }) => {
    const url = new URL(request.url);
    const fields: Record<string, string[]> = {};
    const raw: Record<string, string> = {};
    for (const [name, value] of url.searchParams) {
      if (!KNOWN_PARAMS.has(name)) fields[name] = [`unknown parameter; use ${[...KNOWN_PARAMS].join(', ')}`];
      else if (name in raw) fields[name] = ['given more than once'];
      else raw[name] = value;
    }
    const parsed = QuerySchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) (fields[String(issue.path[0])] ??= []).push(issue.message);
    }
    if (!parsed.success || Object.keys(fields).length > 0) {
      return apiError(400, 'invalid_request', 'The query has invalid parameters.', fields);
    }
    const { course, q, after } = parsed.data;
    const limit = parsed.data.limit ?? DEFAULT_CHAPTERS_PER_PAGE;
    const result = await presentChapterList(runtime.db, { course, q, limit, after });
    if (result.kind === 'unknown_course') {
      return apiError(404, 'unknown_course', `No course has the id or slug "${course}".`, {
        course: [`no such course; courses: ${result.courses.join(', ')}`],
      });
    }
    let next: string | null = null;
    if (result.next) {
      const nextParams = new URLSearchParams();
      if (course !== undefined) nextParams.set('course', course);
      if (q !== undefined) nextParams.set('q', q);
      nextParams.set('limit', String(limit));
      nextParams.set('after', encodeCursor(result.next));
      next = `/api/chapters?${nextParams}`;
    }
    return json({ chapters: result.chapters, next }, { headers: { 'Cache-Control': 'private, no-store' } });
  },
});

function encodeCursor(cursor: ChapterCursor): string {
  return Buffer.from(JSON.stringify({ s: cursor.slug, p: cursor.position })).toString('base64url');
}

function decodeCursor(value: string): ChapterCursor | null {
  try {
    const parsed = CursorSchema.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
    return parsed.success ? { slug: parsed.data.s, position: parsed.data.p } : null;
  } catch {
    return null;
  }
}
