import { json } from '@remix-run/node';

import { apiRoute } from '~/server/api-route.server';
import { apiError } from '~/server/http.server';
import { presentChapter } from '~/server/presenters/chapter.server';

/**
 * GET /api/chapters/:id — an edge read, answered at once from the database: the current content
 * and version. The ETag names the version, so a client (or CDN) revalidates with a 304 until a
 * new version is written; private because the caller is authenticated.
 */
export const loader = apiRoute({
  permission: 'jobs.view',
  id: { param: 'chapterId', notFound: 'No chapter has this id.' },
  handle: async ({ request, id, runtime }) => {
    const chapter = await presentChapter(runtime.db, id);
    if (!chapter) return apiError(404, 'not_found', 'No chapter has this id.');
    const etag = `W/"chapter-${chapter.id}-v${chapter.contentVersion}"`;
    const headers = {
      ETag: etag,
      'Cache-Control': 'private, max-age=0, stale-while-revalidate=60',
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
  },
});
