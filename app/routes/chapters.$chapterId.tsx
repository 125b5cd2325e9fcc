import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';
import { z } from 'zod';

import { useNow } from '~/components/clock';
import { EmptyState } from '~/components/empty-state';
import { formatAge } from '~/components/format';
import { Markdown } from '~/components/markdown';
import { requirePermission } from '~/server/auth/auth.server';
import { presentChapter } from '~/server/presenters/chapter.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.chapter.title ?? 'Chapter'} · Switchyard` },
];

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const id = z.uuid().safeParse(params.chapterId);
  if (!id.success) throw new Response('That is not a chapter id.', { status: 404, statusText: 'Not Found' });
  const { db } = await getRuntime();
  const chapter = await presentChapter(db, id.data);
  if (!chapter) throw new Response('No chapter has this id.', { status: 404, statusText: 'Not Found' });
  return json({ chapter });
}

export default function ChapterPage() {
  const { chapter } = useLoaderData<typeof loader>();
  const now = useNow();
  return (
    <>
      <header className="page-header">
        <p className="eyebrow">{chapter.courseTitle}</p>
        <h1>
          {chapter.position}. {chapter.title}
        </h1>
        <p className="lede">
          {chapter.contentVersion > 0
            ? `Version ${chapter.contentVersion}, generated ${chapter.contentUpdatedAt ? formatAge(chapter.contentUpdatedAt, now) : ''}`
            : 'Not generated yet.'}
        </p>
      </header>
      <section className="panel">
        {chapter.content ? (
          <Markdown source={chapter.content} label={`Content of ${chapter.title}`} />
        ) : (
          <EmptyState title="No content yet">Queue this chapter for generation to fill it.</EmptyState>
        )}
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
