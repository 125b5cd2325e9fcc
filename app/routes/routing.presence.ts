import { json, type ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';

import { int4, int4Text } from '~/domain/input';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import { reportRoutingPresence } from '~/server/services/routing-presence.server';

/** The Routing page's heartbeat: who has it open, on which version, with unsaved changes or not. */
export async function action({ request }: ActionFunctionArgs) {
  const staff = await requirePermission(request, 'routing.view');
  const form = await readForm(request);
  const tabId = z.uuid().safeParse(form.get('tab'));
  const baseVersion = int4Text.pipe(int4.min(0)).safeParse(form.get('base'));
  if (!tabId.success || !baseVersion.success)
    return json(
      {
        error: {
          code: 'invalid_input',
          message: 'A heartbeat names its tab (a uuid) and the version it edits.',
          fields: {
            ...(tabId.success ? {} : { tab: ['must be a uuid'] }),
            ...(baseVersion.success ? {} : { base: ['must be a version number'] }),
          },
        },
      },
      { status: 400 },
    );
  const others = await reportRoutingPresence((await getRuntime()).db, staff, {
    tabId: tabId.data,
    baseVersion: baseVersion.data,
    dirty: form.get('dirty') === 'true',
  });
  return json({ others });
}
