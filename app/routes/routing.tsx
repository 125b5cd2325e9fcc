import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Age, useNow } from '~/components/clock';
import { Toast } from '~/components/toast';
import { Form, useActionData, useLoaderData, useNavigation, useRouteLoaderData } from '@remix-run/react';
import { useMemo, useState } from 'react';

import { formatAge } from '~/components/format';
import { describeChange } from '~/domain/config-diff';
import { int4, int4Text } from '~/domain/input';
import { can } from '~/domain/permissions';
import { BACKOFFS, STICKY_KEYS, stickyBucket, type RouteRule, type RoutingConfig } from '~/domain/routing';
import { configFromForm, emptyRule, ruleFieldName } from '~/domain/routing-form';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { presentRouting } from '~/server/presenters/routing.server';
import { getRuntime } from '~/server/runtime.server';
import { changeRouting, type RoutingChange } from '~/server/services/routing-control.server';

export const meta: MetaFunction = () => [{ title: 'Routing · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'routing.view');
  return json(await presentRouting(await getRuntime()));
}

type ActionResult = { ok: boolean; message: string; fields?: Record<string, string[]> };

export async function action({ request }: ActionFunctionArgs) {
  const form = await readForm(request);
  const intent = String(form.get('intent'));
  const staff = await requirePermission(request, intent === 'save' ? 'routing.edit' : 'routing.publish');
  const change = routingChangeFrom(intent, form);
  if ('problem' in change) return json<ActionResult>({ ok: false, message: change.problem }, { status: 400 });
  const result = await changeRouting(await getRuntime(), staff.email, change);
  if (result.ok) return json<ActionResult>({ ok: true, message: result.message });
  const status = result.kind === 'invalid' ? 400 : result.status;
  return json<ActionResult>(
    { ok: false, message: result.message, fields: result.kind === 'invalid' ? result.fields : undefined },
    { status },
  );
}

/** The form's intent as a routing change, or the problem with the form. */
function routingChangeFrom(intent: string, form: FormData): RoutingChange | { problem: string } {
  const comment = String(form.get('comment') ?? '').trim();
  if (intent === 'publish' || intent === 'revert') {
    const version = int4Text.pipe(int4.min(1)).safeParse(form.get('version'));
    return version.success ? { kind: intent, version: version.data } : { problem: 'Choose a version.' };
  }
  if (intent === 'kill-switch')
    return form.get('confirm') === 'yes'
      ? { kind: 'kill_switch', hybridEnabled: form.get('hybridEnabled') === 'true', comment }
      : { problem: 'Confirm the kill switch to flip it.' };
  if (intent === 'save' || intent === 'save-publish')
    return { kind: 'save', config: configFromForm(form), comment, publish: intent === 'save-publish' };
  return { problem: `Unknown action "${intent}".` };
}

export default function RoutingPage() {
  const view = useLoaderData<typeof loader>();
  const now = useNow();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const role = root?.staff?.role;
  const mayEdit = role ? can(role, 'routing.edit') : false;
  const mayPublish = role ? can(role, 'routing.publish') : false;
  const fields = result?.fields ?? {};
  const { active } = view;
  return (
    <>
      <header className="page-header">
        <h1>Routing</h1>
        <p className="lede">
          Which requests run at the edge and which go to the cloud worker, and how much of it is rolled out.
        </p>
      </header>
      <Toast result={result} />

      <section className="panel" aria-labelledby="serving">
        <h2 id="serving">Serving now</h2>
        <dl className="stats">
          <div className="stat">
            <dt>Version</dt>
            <dd>
              <span className="stat-value" data-testid="serving-version">
                {active.version === 0 ? 'defaults' : `v${active.version}`}
              </span>
              <span className="stat-hint">
                from{' '}
                {active.source === 'edge-config'
                  ? 'Edge Config'
                  : active.source === 'database'
                    ? 'the database'
                    : 'built-in defaults'}
                {active.publishedAt ? `, since ${formatAge(active.publishedAt, now)}` : ''}
              </span>
            </dd>
          </div>
          <div className="stat">
            <dt>Hybrid routing</dt>
            <dd>
              <span className="stat-value">{active.config.hybridEnabled ? 'on' : 'off (kill switch)'}</span>
            </dd>
          </div>
          <div className="stat">
            <dt>Canary</dt>
            <dd>
              <span className="stat-value">{active.config.canaryPercent}%</span>
              <span className="stat-hint">of cloud-bound traffic, sticky by {active.config.stickyKey}</span>
            </dd>
          </div>
        </dl>
        {active.readError ? (
          <p className="form-error" role="alert">
            Edge Config could not be read ({active.readError}); the router serves the last version published in the
            database.
          </p>
        ) : null}
        {!view.edgeConfigConfigured ? (
          <p className="hint">
            Edge Config is not configured: publishing makes a version live in the database, which the router reads.
          </p>
        ) : null}
      </section>

      {mayPublish ? <KillSwitch enabled={view.editing.config.hybridEnabled} /> : null}

      <RoutingEditor
        key={view.editing.version}
        config={view.editing.config}
        basedOn={view.editing}
        fields={fields}
        recentKeys={view.recentKeys}
        mayEdit={mayEdit}
        mayPublish={mayPublish}
      />

      <section className="panel" aria-labelledby="history">
        <h2 id="history">Version history</h2>
        {view.versions.length === 0 ? (
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
              {view.versions.map((version) => (
                <tr key={version.version}>
                  <td>
                    v{version.version}
                    {version.revertedFrom ? <span className="tag">revert of v{version.revertedFrom}</span> : null}
                  </td>
                  <td>
                    {version.author}
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
                    {version.version === active.version ? <span className="badge badge-succeeded">serving</span> : null}{' '}
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
                        {version.publishedAt ? null : (
                          <button type="submit" name="intent" value="publish" className="button-quiet">
                            {version.publishError ? 'Retry publish' : 'Publish'}
                          </button>
                        )}
                        {version.version !== active.version && version.publishedAt ? (
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
    </>
  );
}

function KillSwitch({ enabled }: { enabled: boolean }) {
  const [armed, setArmed] = useState(false);
  return (
    <section className="panel kill-switch" aria-labelledby="kill-switch">
      <h2 id="kill-switch">Kill switch</h2>
      <p>
        {enabled
          ? 'Hybrid routing is on. Flipping the kill switch sends all generation back to the edge (the rollback plan), as a new published version.'
          : 'The kill switch is on: all generation runs at the edge. Turn hybrid routing back on to resume the canary.'}
      </p>
      <Form method="post" className="inline-form">
        <input type="hidden" name="intent" value="kill-switch" />
        <input type="hidden" name="hybridEnabled" value={enabled ? 'false' : 'true'} />
        <label className="inline-check">
          <input
            type="checkbox"
            name="confirm"
            value="yes"
            checked={armed}
            onChange={(event) => setArmed(event.target.checked)}
          />{' '}
          I understand this changes routing for all traffic now
        </label>
        <button type="submit" className={enabled ? 'button-danger' : 'button'} disabled={!armed}>
          {enabled ? 'Flip the kill switch: all to edge' : 'Turn hybrid routing back on'}
        </button>
      </Form>
    </section>
  );
}

function RoutingEditor(props: {
  config: RoutingConfig;
  basedOn: { version: number; published: boolean };
  fields: Record<string, string[]>;
  recentKeys: { chapter: string[]; course: string[]; user: string[] };
  mayEdit: boolean;
  mayPublish: boolean;
}) {
  const { config, fields, mayEdit } = props;
  const navigation = useNavigation();
  const [rules, setRules] = useState(() => config.rules.map((rule, i) => ({ key: `${rule.id}-${i}`, rule })));
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
      <Form method="post" className="routing-form">
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

function RuleRow(props: {
  index: number;
  rule: RouteRule;
  last: boolean;
  error: (name: string) => React.ReactNode;
  onMove: (index: number, by: number) => void;
  onRemove: () => void;
}) {
  const { index, rule, error } = props;
  const name = (field: Parameters<typeof ruleFieldName>[1]) => ruleFieldName(index, field);
  return (
    <tr>
      <td>
        <input name={name('id')} defaultValue={rule.id} aria-label={`Rule ${index + 1} id`} size={10} />
        {error(name('id'))}
      </td>
      <td>
        <input name={name('path')} defaultValue={rule.match.path} aria-label={`Rule ${index + 1} path`} size={24} />
        {error(name('path'))}
      </td>
      <td>
        <input
          name={name('methods')}
          defaultValue={(rule.match.methods ?? []).join(', ')}
          aria-label={`Rule ${index + 1} methods`}
          placeholder="any"
          size={8}
        />
      </td>
      <TargetCells prefix={`rules[${index}]`} target={rule} error={error} label={`Rule ${index + 1}`} />
      <td className="order">
        <button
          type="button"
          className="button-quiet"
          aria-label={`Move rule ${index + 1} up`}
          disabled={index === 0}
          onClick={() => props.onMove(index, -1)}
        >
          ↑
        </button>
        <button
          type="button"
          className="button-quiet"
          aria-label={`Move rule ${index + 1} down`}
          disabled={props.last}
          onClick={() => props.onMove(index, 1)}
        >
          ↓
        </button>
        <button type="button" className="button-quiet" aria-label={`Remove rule ${index + 1}`} onClick={props.onRemove}>
          ✕
        </button>
      </td>
    </tr>
  );
}

function TargetRow(props: {
  prefix: string;
  label: string;
  target: RoutingConfig['defaultRule'];
  error: (name: string) => React.ReactNode;
}) {
  return (
    <tr className="default-rule">
      <td colSpan={3}>{props.label}</td>
      <TargetCells prefix={props.prefix} target={props.target} error={props.error} label="Default rule" />
      <td />
    </tr>
  );
}

function TargetCells(props: {
  prefix: string;
  target: RoutingConfig['defaultRule'];
  error: (name: string) => React.ReactNode;
  label: string;
}) {
  const { prefix, target, error, label } = props;
  return (
    <>
      <td>
        <select name={`${prefix}.destination`} defaultValue={target.destination} aria-label={`${label} destination`}>
          <option>edge</option>
          <option>cloud</option>
        </select>
      </td>
      <td>
        <select name={`${prefix}.priority`} defaultValue={target.priority} aria-label={`${label} priority`}>
          <option>high</option>
          <option>normal</option>
          <option>low</option>
        </select>
      </td>
      <td>
        <input
          name={`${prefix}.timeoutMs`}
          type="number"
          defaultValue={target.timeoutMs}
          aria-label={`${label} timeout in ms`}
          className="num-input"
        />
        {error(`${prefix}.timeoutMs`)}
      </td>
      <td>
        <input
          name={`${prefix}.retry.maxRetries`}
          type="number"
          defaultValue={target.retry.maxRetries}
          aria-label={`${label} retries`}
          className="num-input small"
        />
        {error(`${prefix}.retry.maxRetries`)}
      </td>
      <td>
        <select name={`${prefix}.retry.backoff`} defaultValue={target.retry.backoff} aria-label={`${label} backoff`}>
          {BACKOFFS.map((backoff) => (
            <option key={backoff}>{backoff}</option>
          ))}
        </select>
      </td>
      <td>
        <input
          name={`${prefix}.retry.baseDelayMs`}
          type="number"
          defaultValue={target.retry.baseDelayMs}
          aria-label={`${label} base delay in ms`}
          className="num-input"
        />
      </td>
      <td>
        <input
          name={`${prefix}.retry.maxDelayMs`}
          type="number"
          defaultValue={target.retry.maxDelayMs}
          aria-label={`${label} max delay in ms`}
          className="num-input"
        />
        {error(`${prefix}.retry.maxDelayMs`)}
      </td>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
