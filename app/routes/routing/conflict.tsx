import { Form, Link, useNavigation } from '@remix-run/react';

import { Age } from '~/components/clock';
import { describeChange, overlaps, type ConfigChange } from '~/domain/config-diff';
import { paths } from '~/paths';
import type { StaleEdit } from '~/server/services/routing-control.server';

type Jsonified<T> = T extends Date ? string : T extends object ? { [K in keyof T]: Jsonified<T[K]> } : T;

/**
 * After a save on a stale base (409): what the others saved since, and the edit's own changes
 * as ticks, to re-apply on the newest version field by field, or discard. A field the others
 * changed too starts unticked: re-applying it overwrites their value.
 */
export function ConflictPanel(props: {
  stale: Jsonified<StaleEdit>;
  comment: string;
  publish: boolean;
  mayPublish: boolean;
}) {
  const { stale } = props;
  const navigation = useNavigation();
  const theirsFor = (change: ConfigChange) => stale.theirs.filter((other) => overlaps(change, other));
  return (
    <section className="panel conflict" aria-labelledby="conflict" data-testid="conflict">
      <h2 id="conflict">{`Saved meanwhile: your edit started from v${stale.baseVersion}`}</h2>
      <ul className="conflict-versions">
        {stale.since.map((version) => (
          <li key={version.version}>
            <strong>v{version.version}</strong> by {version.authorName ?? version.author}{' '}
            <span className="hint">
              (<Age date={version.createdAt} />, {version.publishedAt ? 'published' : 'draft'})
            </span>
            : &ldquo;{version.comment}&rdquo;
            <ul className="changes">
              {version.diff.map((change, i) => (
                <li key={i}>{describeChange(change)}</li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
      <Form method="post" className="conflict-form">
        <input type="hidden" name="base" value={stale.newestVersion} />
        <input type="hidden" name="mine" value={JSON.stringify(stale.mine)} />
        <fieldset className="plain">
          <legend>{`Your changes: tick those to re-apply on v${stale.newestVersion}`}</legend>
          {stale.mine.length === 0 ? <p className="hint">Your edit changed nothing.</p> : null}
          {stale.mine.map((change, i) => {
            const theirs = theirsFor(change);
            return (
              <label key={`${stale.newestVersion}-${i}`} className="inline-check">
                <input type="checkbox" name="apply" value={i} defaultChecked={theirs.length === 0} />{' '}
                {describeChange(change)}
                {theirs.length > 0 ? (
                  <span className="form-error">
                    {' '}
                    (changed meanwhile: {theirs.map(describeChange).join('; ')}; re-applying overwrites it)
                  </span>
                ) : null}
              </label>
            );
          })}
        </fieldset>
        <label className="comment">
          Why (recorded with the version)
          <input name="comment" required defaultValue={props.comment} />
        </label>
        <div className="inline-form">
          <button
            type="submit"
            name="intent"
            value={props.publish && props.mayPublish ? 'reapply-publish' : 'reapply'}
            className="button"
            disabled={navigation.state !== 'idle' || stale.mine.length === 0}
          >
            {`Re-apply the ticked changes on v${stale.newestVersion}${props.publish && props.mayPublish ? ' and publish' : ''}`}
          </button>
          <Link to={paths.routing()} className="button-quiet">
            Discard my changes
          </Link>
        </div>
      </Form>
    </section>
  );
}
