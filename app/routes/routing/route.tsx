import {
  json,
  type ActionFunctionArgs,
  type LoaderFunctionArgs,
  type MetaFunction,
  type SerializeFrom,
} from '@remix-run/node';
import { useActionData, useLoaderData, useRouteLoaderData } from '@remix-run/react';

import { Toast } from '~/components/toast';
import { int4, int4Text } from '~/domain/input';
import { can } from '~/domain/permissions';
import { configFromForm } from '~/domain/routing-form';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { presentRouting } from '~/server/presenters/routing.server';
import { getRuntime } from '~/server/runtime.server';
import { changeRouting, type RoutingChange } from '~/server/services/routing-control.server';

import { VersionHistory } from './history';
import { KillSwitch } from './kill-switch';
import { RuleEditor } from './rule-editor';
import { ServingNow } from './serving-now';

export const meta: MetaFunction = () => [{ title: 'Routing · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'routing.view');
  return json(await presentRouting(await getRuntime()));
}

/** The page's data as its sections receive it (dates as strings). */
export type RoutingPageData = SerializeFrom<typeof loader>;

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
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>('root');
  const role = root?.staff?.role;
  const mayEdit = role ? can(role, 'routing.edit') : false;
  const mayPublish = role ? can(role, 'routing.publish') : false;
  return (
    <>
      <header className="page-header">
        <h1>Routing</h1>
        <p className="lede">
          Which requests run at the edge and which go to the cloud worker, and how much of it is rolled out.
        </p>
      </header>
      <Toast result={result} />
      <ServingNow active={view.active} edgeConfigConfigured={view.edgeConfigConfigured} />
      {mayPublish ? <KillSwitch enabled={view.editing.config.hybridEnabled} /> : null}
      <RuleEditor
        key={view.editing.version}
        config={view.editing.config}
        basedOn={view.editing}
        fields={result?.fields ?? {}}
        recentKeys={view.recentKeys}
        mayEdit={mayEdit}
        mayPublish={mayPublish}
      />
      <VersionHistory versions={view.versions} activeVersion={view.active.version} mayPublish={mayPublish} />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
