import { Form, useNavigation } from '@remix-run/react';
import { useMemo, useState } from 'react';

import { STICKY_KEYS, stickyBucket, type RoutingConfig } from '~/domain/routing';
import { emptyRule } from '~/domain/routing-form';

import { RuleRow, TargetRow } from './rule-row';

/** The editor of the newest version: canary, sticky key, kill switch box and the rules. */
export function RuleEditor(props: {
  config: RoutingConfig;
  basedOn: { version: number; published: boolean };
  fields: Record<string, string[]>;
  recentKeys: { chapter: string[]; course: string[]; user: string[] };
  mayEdit: boolean;
  mayPublish: boolean;
  /** Called on every edit, so the page can tell the others it has unsaved changes. */
  onEdit?: () => void;
}) {
  const { config, fields, mayEdit, onEdit } = props;
  const navigation = useNavigation();
  const [rules, setRulesState] = useState(() => config.rules.map((rule, i) => ({ key: `${rule.id}-${i}`, rule })));
  const setRules: typeof setRulesState = (update) => {
    onEdit?.();
    setRulesState(update);
  };
  const [percent, setPercent] = useState(config.canaryPercent);
  const [stickyKey, setStickyKey] = useState(config.stickyKey);
  const preview = useMemo(() => {
    const keys = props.recentKeys[stickyKey];
    if (keys.length === 0) return null;
    const cloud = keys.filter((key) => stickyBucket(`${stickyKey}:${key}`) < Math.round(percent * 100)).length;
    return { cloud, total: keys.length };
  }, [props.recentKeys, stickyKey, percent]);
  const error = (name: string) =>
    fields[name] ? (
      <span className="field-error" id={`${name}-error`}>
        {fields[name][0]}
      </span>
    ) : null;
  const move = (index: number, by: number) =>
    setRules((current) => {
      const next = [...current];
      const [item] = next.splice(index, 1);
      next.splice(index + by, 0, item);
      return next;
    });

  return (
    <section className="panel" aria-labelledby="editor">
      <h2 id="editor">
        Rules and canary{' '}
        <span className="hint">
          (editing v{props.basedOn.version || 0}
          {props.basedOn.published ? '' : ', an unpublished draft'})
        </span>
      </h2>
      <Form method="post" className="routing-form" onChange={() => onEdit?.()}>
        <input type="hidden" name="base" value={props.basedOn.version} />
        <fieldset disabled={!mayEdit} className="plain">
          <div className="form-grid">
            <label>
              Canary: share of cloud-bound traffic sent to the cloud
              <span className="canary">
                <input
                  type="range"
                  min={0}
                  max={100}
                  step={0.1}
                  value={percent}
                  onChange={(event) => setPercent(Number(event.target.value))}
                  aria-label="Canary percentage slider"
                />
                <input
                  name="canaryPercent"
                  type="number"
                  min={0}
                  max={100}
                  step={0.1}
                  value={percent}
                  onChange={(event) => setPercent(Number(event.target.value))}
                  aria-invalid={Boolean(fields.canaryPercent)}
                />
                %
              </span>
              {error('canaryPercent')}
              <span className="hint" data-testid="canary-preview">
                {preview
                  ? `${preview.cloud} of the last ${preview.total} jobs would go to the cloud at ${percent}%.`
                  : 'No jobs yet to preview against.'}
              </span>
            </label>
            <label>
              Sticky key (keeps one {stickyKey} on one side)
              <select
                name="stickyKey"
                value={stickyKey}
                onChange={(event) => setStickyKey(event.target.value as typeof stickyKey)}
              >
                {STICKY_KEYS.map((key) => (
                  <option key={key}>{key}</option>
                ))}
              </select>
            </label>
            <label className="inline-check">
              <input type="checkbox" name="hybridEnabled" defaultChecked={config.hybridEnabled} /> Hybrid routing on
              (off = kill switch)
            </label>
          </div>
          <div className="table-scroll">
            <table className="table rules">
              <caption>Rules, first match wins</caption>
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">Path</th>
                  <th scope="col">Methods</th>
                  <th scope="col">Destination</th>
                  <th scope="col">Priority</th>
                  <th scope="col">Timeout ms</th>
                  <th scope="col">Retries</th>
                  <th scope="col">Backoff</th>
                  <th scope="col">Base ms</th>
                  <th scope="col">Max ms</th>
                  <th scope="col">
                    <span className="visually-hidden">Order</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rules.map(({ key, rule }, index) => (
                  <RuleRow
                    key={key}
                    index={index}
                    rule={rule}
                    error={error}
                    last={index === rules.length - 1}
                    onMove={move}
                    onRemove={() => setRules((current) => current.filter((_, i) => i !== index))}
                  />
                ))}
                <TargetRow
                  prefix="defaultRule"
                  label="default (everything else)"
                  target={config.defaultRule}
                  error={error}
                />
              </tbody>
            </table>
          </div>
          <button
            type="button"
            className="button-quiet"
            onClick={() =>
              setRules((current) => [
                ...current,
                { key: `new-${Date.now()}`, rule: emptyRule(current.map((r) => r.rule)) },
              ])
            }
          >
            Add rule
          </button>
          <label className="comment">
            Why (recorded with the version)
            <input
              name="comment"
              required
              aria-invalid={Boolean(fields.comment)}
              placeholder="e.g. Raise canary to 25% after a clean day at 10%"
            />
            {error('comment')}
          </label>
          <div className="inline-form">
            <button
              type="submit"
              name="intent"
              value="save"
              className="button-quiet"
              disabled={navigation.state !== 'idle'}
            >
              Save draft
            </button>
            {props.mayPublish ? (
              <button
                type="submit"
                name="intent"
                value="save-publish"
                className="button"
                disabled={navigation.state !== 'idle'}
              >
                Save and publish
              </button>
            ) : null}
          </div>
        </fieldset>
      </Form>
    </section>
  );
}
