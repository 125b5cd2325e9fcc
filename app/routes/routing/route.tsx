import {
  json,
  type ActionFunctionArgs,
  type LoaderFunctionArgs,
  type MetaFunction,
  type SerializeFrom,
} from '@remix-run/node';
import { useActionData, useLoaderData, useRouteLoaderData, type ShouldRevalidateFunction } from '@remix-run/react';
import { useState } from 'react';

import { Toast } from '~/components/toast';
import { int4, int4Text } from '~/domain/input';
import { can } from '~/domain/permissions';
import { rolloutInputFromForm } from '~/domain/rollout-form';
import { changesToReapply, configFromForm } from '~/domain/routing-form';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { presentRouting } from '~/server/presenters/routing.server';
import { getRuntime } from '~/server/runtime.server';
import { controlRollout, type RolloutControl } from '~/server/services/rollout-analysis.server';
import { startRollout } from '~/server/services/rollout.server';
import { changeRouting, type RoutingChange, type StaleEdit } from '~/server/services/routing-control.server';

import { ConflictPanel } from './conflict';
import { VersionHistory } from './history';
import { KillSwitch } from './kill-switch';
import { Presence, PRESENCE_ACTION } from './presence';
import { Rollouts } from './rollouts';
import { RuleEditor } from './rule-editor';
import { ServingNow } from './serving-now';

export const meta: MetaFunction = () => [{ title: 'Routing · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, 'routing.view');
  return json(await presentRouting(await getRuntime(), staff));
}

/** Heartbeats answer for themselves: they do not reload the page's data. */
export const shouldRevalidate: ShouldRevalidateFunction = ({ formAction, defaultShouldRevalidate }) =>
  formAction === PRESENCE_ACTION ? false : defaultShouldRevalidate;

/** The page's data as its sections receive it (dates as strings). */
export type RoutingPageData = SerializeFrom<typeof loader>;

type ActionResult = {
  ok: boolean;
  message: string;
  fields?: Record<string, string[]>;
  /** A save on a stale base: what changed since, for the re-apply panel, with the edit's comment. */
  conflict?: { stale: StaleEdit; comment: string; publish: boolean };
  /** A refused rollout start: its field errors, by the plan's paths. */
  rolloutFields?: Record<string, string[]>;
};

export async function action({ request }: ActionFunctionArgs) {
  const form = await readForm(request);
  const intent = String(form.get('intent'));
  const staff = await requirePermission(
    request,
    intent === 'save' || intent === 'reapply' ? 'routing.edit' : 'routing.publish',
  );
  if (intent === 'rollout-start' || intent === 'rollout-control') return rolloutAction(intent, form, staff.email);
  const change = routingChangeFrom(intent, form);
  if ('problem' in change) return json<ActionResult>({ ok: false, message: change.problem }, { status: 400 });
  const result = await changeRouting(await getRuntime(), staff.email, change);
  if (result.ok) return json<ActionResult>({ ok: true, message: result.message });
  if (result.kind === 'stale' && (change.kind === 'save' || change.kind === 'reapply')) {
    const conflict = { stale: result.stale, comment: change.comment, publish: change.publish };
    return json<ActionResult>({ ok: false, message: result.message, conflict }, { status: 409 });
  }
  const status = result.kind === 'invalid' ? 400 : result.kind === 'stale' ? 409 : result.status;
  return json<ActionResult>(
    { ok: false, message: result.message, fields: result.kind === 'invalid' ? result.fields : undefined },
    { status },
  );
}

const CONTROLS: readonly RolloutControl[] = ['pause', 'resume', 'promote', 'abort'];

/** Starting a rollout, or pausing, resuming, promoting or aborting one (ops/admin: routing.publish, checked above). */
async function rolloutAction(intent: 'rollout-start' | 'rollout-control', form: FormData, actor: string) {
  const runtime = await getRuntime();
  if (intent === 'rollout-start') {
    const result = await startRollout(runtime.db, actor, rolloutInputFromForm(form));
    if (result.ok)
      return json<ActionResult>({
        ok: true,
        message: `Rollout started on rule ${result.rollout.ruleId} at ${result.rollout.weight} %.`,
      });
    return json<ActionResult>(
      { ok: false, message: result.message, rolloutFields: result.fields },
      { status: result.kind === 'conflict' ? 409 : 400 },
    );
  }
  const rolloutId = String(form.get('rolloutId') ?? '');
  const control = CONTROLS.find((value) => value === form.get('control'));
  if (!/^[0-9a-f-]{36}$/.test(rolloutId) || !control)
    return json<ActionResult>({ ok: false, message: 'Choose a rollout and what to do with it.' }, { status: 400 });
  if (form.get('confirm') !== 'yes')
    return json<ActionResult>({ ok: false, message: 'Confirm to change the rollout.' }, { status: 400 });
  const result = await controlRollout(runtime, actor, rolloutId, control);
  return json<ActionResult>(
    { ok: result.ok, message: result.message },
    { status: result.ok ? 200 : result.kind === 'not_found' ? 404 : 409 },
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
  const base = int4Text.pipe(int4.min(0)).safeParse(form.get('base'));
  if ((intent.startsWith('save') || intent.startsWith('reapply')) && !base.success)
    return { problem: 'The form does not say which version it started from: reload the page and edit again.' };
  const baseVersion = base.data ?? 0;
  if (intent === 'save' || intent === 'save-publish')
    return { kind: 'save', config: configFromForm(form), comment, publish: intent === 'save-publish', baseVersion };
  if (intent === 'reapply' || intent === 'reapply-publish') {
    const changes = changesToReapply(form);
    if ('problem' in changes) return changes;
    return { kind: 'reapply', changes, comment, publish: intent === 'reapply-publish', baseVersion };
  }
  return { problem: `Unknown action "${intent}".` };
}

export default function RoutingPage() {
  const view = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const role = root?.staff?.role;
  const mayEdit = role ? can(role, 'routing.edit') : false;
  const mayPublish = role ? can(role, 'routing.publish') : false;
  const editingVersion = view.editing.version;
  // Unsaved changes belong to the version being edited: a new newest version starts clean.
  const [dirtyOn, setDirtyOn] = useState<number | null>(null);
  const dirty = dirtyOn === editingVersion;
  return (
    <>
      <header className="page-header">
        <h1>Routing</h1>
        <p className="lede">
          Which requests run at the edge and which go to the cloud worker, and how much of it is rolled out.
        </p>
      </header>
      <Presence initial={view.present} baseVersion={editingVersion} dirty={dirty} newestVersion={editingVersion} />
      <Toast result={result} />
      <ServingNow active={view.active} edgeConfigConfigured={view.edgeConfigConfigured} readBack={view.readBack} />
      {/* WARNING: a stable wrapper. Rendered straight into the page's fragment, the panel's
          section stayed on screen (unmounted by React, not removed from the DOM) after a
          successful re-apply in Chromium; inside this div it goes as it should. */}
      <div className="conflict-slot">
        {result?.conflict ? (
          <ConflictPanel
            key={result.conflict.stale.newestVersion}
            stale={result.conflict.stale}
            comment={result.conflict.comment}
            publish={result.conflict.publish}
            mayPublish={mayPublish}
          />
        ) : null}
      </div>
      {mayPublish ? <KillSwitch enabled={view.editing.config.hybridEnabled} /> : null}
      <Rollouts
        rollouts={view.rollouts}
        ruleIds={view.active.config.rules.map((rule) => rule.id)}
        mayPublish={mayPublish}
        fields={result?.rolloutFields ?? {}}
      />
      <RuleEditor
        key={view.editing.version}
        config={view.editing.config}
        basedOn={view.editing}
        fields={result?.fields ?? {}}
        recentKeys={view.recentKeys}
        mayEdit={mayEdit}
        mayPublish={mayPublish}
        onEdit={() => setDirtyOn(editingVersion)}
      />
      <VersionHistory versions={view.versions} activeVersion={view.active.version} mayPublish={mayPublish} />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
