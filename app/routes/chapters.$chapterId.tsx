import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useRouteLoaderData } from '@remix-run/react';
import { z } from 'zod';

import { useNow } from '~/components/clock';
import { EmptyState } from '~/components/empty-state';
import { formatAge } from '~/components/format';
import { Markdown } from '~/components/markdown';
import { Toast } from '~/components/toast';
import { can } from '~/domain/permissions';
import { paths } from '~/paths';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { presentChapter, presentChapterVersions } from '~/server/presenters/chapter.server';
import { getRuntime } from '~/server/runtime.server';
import { revertChapter } from '~/server/services/chapter-revert.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.chapter.title ?? 'Chapter'} · Switchyard` },
];

function chapterId(params: { chapterId?: string }): string {
  const id = z.uuid().safeParse(params.chapterId);
  if (!id.success) throw new Response('That is not a chapter id.', { status: 404, statusText: 'Not Found' });
  return id.data;
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.view');
  const id = chapterId(params);
  const { db } = await getRuntime();
  const [chapter, versions] = await Promise.all([presentChapter(db, id), presentChapterVersions(db, id)]);
  if (!chapter) throw new Response('No chapter has this id.', { status: 404, statusText: 'Not Found' });
  return json({ chapter, versions });
}

const RevertSchema = z.object({
  intent: z.literal('revert', { message: 'Unknown action.' }),
  version: z.coerce
    .number({ message: 'Choose a version to revert to.' })
    .int({ message: 'Choose a version to revert to.' })
    .min(1, { message: 'Choose a version to revert to.' })
    .max(2_147_483_647, { message: 'Choose a version to revert to.' }),
});

/** Revert: make an earlier version current again, as a new version (content managers, ops, admins). */
export async function action({ request, params }: ActionFunctionArgs) {
  const staff = await requirePermission(request, 'chapters.revert');
  const id = chapterId(params);
  const form = await readForm(request);
  const parsed = RevertSchema.safeParse({ intent: form.get('intent'), version: form.get('version') });
  if (!parsed.success)
    return json({ ok: false, message: parsed.error.issues.map((issue) => issue.message).join(' ') }, { status: 400 });
  const result = await revertChapter(await getRuntime(), staff.email, id, parsed.data.version);
  switch (result.kind) {
    case 'reverted':
      return json({
        ok: true,
        message: `Version ${result.from} is current again, as version ${result.version}. Cached copies are being invalidated.`,
      });
    case 'unknown_chapter':
      throw new Response('No chapter has this id.', { status: 404, statusText: 'Not Found' });
    case 'unknown_version':
      return json(
        {
          ok: false,
          message: `This chapter has no version ${parsed.data.version}; its current version is ${result.currentVersion}.`,
        },
        { status: 422 },
      );
    case 'already_current':
      return json({ ok: false, message: `Version ${result.version} is already the current one.` }, { status: 409 });
  }
}

export default function ChapterPage() {
  const { chapter, versions } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const role = root?.staff?.role;
  const mayRevert = role ? can(role, 'chapters.revert') : false;
  const navigation = useNavigation();
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
      <Toast result={result} />
      <section className="panel">
        {chapter.content ? (
          <Markdown source={chapter.content} label={`Content of ${chapter.title}`} />
        ) : (
          <EmptyState title="No content yet">Queue this chapter for generation to fill it.</EmptyState>
        )}
      </section>
      {versions.length > 0 ? (
        <section className="panel" aria-labelledby="versions-heading">
          <h2 id="versions-heading">Versions</h2>
          <p className="hint">
            A revert puts an earlier version back as a new version; nothing is lost, and it can be reverted too.
          </p>
          <table className="table">
            <caption className="visually-hidden">Versions of {chapter.title}</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Written</th>
                <th scope="col">By</th>
                <th scope="col">Model</th>
                {mayRevert ? <th scope="col">Revert</th> : null}
              </tr>
            </thead>
            <tbody>
              {versions.map((version) => (
                <tr key={version.version} data-version={version.version}>
                  <td>
                    {`v${version.version}`}
                    {version.version === chapter.contentVersion ? <span className="tag">current</span> : null}
                  </td>
                  <td>
                    <time dateTime={version.createdAt}>{formatAge(version.createdAt, now)}</time>
                  </td>
                  <td>
                    {version.jobId ? (
                      <Link to={paths.job(version.jobId)}>generation</Link>
                    ) : (
                      `revert to v${version.revertedFrom} by ${version.createdBy ?? 'unknown'}`
                    )}
                  </td>
                  <td>{version.model}</td>
                  {mayRevert ? (
                    <td>
                      {version.version === chapter.contentVersion ? null : (
                        <Form method="post">
                          <input type="hidden" name="intent" value="revert" />
                          <input type="hidden" name="version" value={version.version} />
                          <button type="submit" className="button-quiet" disabled={navigation.state !== 'idle'}>
                            {`Revert to v${version.version}`}
                          </button>
                        </Form>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
