import { Form } from '@remix-run/react';

import { Age } from '~/components/clock';
import { describeChange } from '~/domain/config-diff';
import type { RoutingPageData } from './route';

/** Every saved version, newest first, with publish and revert for those who may publish. */
export function VersionHistory({
  versions,
  activeVersion,
  mayPublish,
}: {
  versions: RoutingPageData['versions'];
  activeVersion: number;
  mayPublish: boolean;
}) {
  // Publishing goes forward only: a draft older than the newest published version is published as a copy.
  const newestPublished = versions.find((version) => version.publishedAt)?.version ?? 0;
  return (
    <section className="panel" aria-labelledby="history">
      <h2 id="history">Version history</h2>
      {versions.length === 0 ? (
        <p className="hint">No version saved yet: the router serves the built-in defaults (the seed&apos;s rules).</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Author</th>
              <th scope="col">Comment</th>
              <th scope="col">Changes</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((version) => (
              <tr key={version.version}>
                <td>
                  v{version.version}
                  {version.revertedFrom ? <span className="tag">revert of v{version.revertedFrom}</span> : null}
                  {version.basedOn !== null && version.basedOn !== version.version - 1 && !version.revertedFrom ? (
                    <span className="tag">made from v{version.basedOn}</span>
                  ) : null}
                </td>
                <td>
                  {version.authorName ?? version.author}
                  <br />
                  <span className="hint">
                    <Age date={version.createdAt} />
                  </span>
                </td>
                <td>{version.comment}</td>
                <td>
                  <ul className="changes">
                    {version.diff.slice(0, 6).map((change, i) => (
                      <li key={i}>{describeChange(change)}</li>
                    ))}
                    {version.diff.length > 6 ? <li>…and {version.diff.length - 6} more</li> : null}
                  </ul>
                </td>
                <td>
                  {version.version === activeVersion ? <span className="badge badge-succeeded">serving</span> : null}{' '}
                  {version.publishedAt ? (
                    <>
                      published <Age date={version.publishedAt} />
                    </>
                  ) : version.publishError ? (
                    <span className="form-error">publish failed: {version.publishError}</span>
                  ) : (
                    'draft'
                  )}
                </td>
                <td>
                  {mayPublish ? (
                    <Form method="post" className="inline-form">
                      <input type="hidden" name="version" value={version.version} />
                      {version.publishedAt || version.version < newestPublished ? null : (
                        <button type="submit" name="intent" value="publish" className="button-quiet">
                          {version.publishError ? 'Retry publish' : 'Publish'}
                        </button>
                      )}
                      {!version.publishedAt && version.version < newestPublished ? (
                        <button
                          type="submit"
                          name="intent"
                          value="revert"
                          className="button-quiet"
                          title={`Older than the live v${newestPublished}: publishes a copy as a new version`}
                        >
                          Publish a copy
                        </button>
                      ) : null}
                      {version.version !== activeVersion && version.publishedAt ? (
                        <button type="submit" name="intent" value="revert" className="button-quiet">
                          Revert to this
                        </button>
                      ) : null}
                    </Form>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
