import { json } from '@remix-run/node';

import { apiRoute } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { presentChapter } from '~/server/presenters/chapter.server';
import { withRouteSample } from '~/server/route-samples.server';

/**
 * GET /api/chapters/:id — an edge read, answered at once from the database: the current content
 * and version. A shared cache (Vercel's CDN; the in-process cache under `npm start`) may keep it
 * for a minute and serve it stale while revalidating, keyed by the caller's credentials (Vary);
 * its tags `chapter:<id>` and `course:<id>` are invalidated when the content changes (a new
 * version, a revert), through `cache_invalidations`. The ETag names the version, for 304s.
 */
const CHAPTER_CACHE_CONTROL = 's-maxage=60, stale-while-revalidate=300';

export const loader = apiRoute({
  permission: 'jobs.view',
  id: { param: 'chapterId', notFound: 'No chapter has this id.' },
  handle: ({ request, id, runtime }) =>
    withRouteSample(runtime, request, '/api/chapters/:id', { chapter: id }, async () => {
      const chapter = await presentChapter(runtime.db, id);
      if (!chapter) return apiError(404, 'not_found', 'No chapter has this id.');
      const etag = `W/"chapter-${chapter.id}-v${chapter.contentVersion}"`;
      const headers = {
        ETag: etag,
        'Cache-Control': CHAPTER_CACHE_CONTROL,
        'Vercel-Cache-Tag': `chapter:${chapter.id},course:${chapter.courseId}`,
        Vary: 'Authorization, Cookie',
      };
      const ifNoneMatch = request.headers.get('if-none-match');
      if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag)) {
        return new Response(null, { status: 304, headers });
      }
      return json(
        {
          chapter_id: chapter.id,
          course_title: chapter.courseTitle,
          position: chapter.position,
          title: chapter.title,
          outline: chapter.outline,
          version: chapter.contentVersion,
          content: chapter.content,
          updated_at: chapter.contentUpdatedAt,
        },
        { headers },
      );
    }),
});
