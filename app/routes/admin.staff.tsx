import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Age } from '~/components/clock';
import { Toast } from '~/components/toast';
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from '@remix-run/react';
import { z } from 'zod';

import { ROLES, ROLE_LABELS } from '~/domain/permissions';
import { NewStaffSchema } from '~/domain/staff-schemas';
import { paths } from '~/paths';
import type { loader as rootLoader } from '~/root';
import { requirePermission } from '~/server/auth/auth.server';
import { authMode } from '~/server/env.server';
import { readForm } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import {
  changeStaffRole,
  createStaff,
  listStaff,
  setStaffDisabled,
  StaffConflictError,
} from '~/server/services/staff.server';

export const meta: MetaFunction = () => [{ title: 'Staff · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const me = await requirePermission(request, 'staff.manage');
  const { db } = await getRuntime();
  return json({ staff: await listStaff(db), me });
}

const IntentSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('create') }).merge(NewStaffSchema),
  z.object({ intent: z.literal('role'), staffId: z.uuid(), role: z.enum(ROLES) }),
  z.object({ intent: z.literal('disable'), staffId: z.uuid() }),
  z.object({ intent: z.literal('enable'), staffId: z.uuid() }),
]);

export async function action({ request }: ActionFunctionArgs) {
  const me = await requirePermission(request, 'staff.manage');
  const { db, env } = await getRuntime();
  const parsed = IntentSchema.safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) {
    return json(
      {
        ok: false as const,
        fields: z.flattenError(parsed.error).fieldErrors as Record<string, string[]>,
        message: 'Check the highlighted fields.',
      },
      { status: 400 },
    );
  }
  const input = parsed.data;
  // Without Supabase Auth a password is the only way in: an account without one could never sign in.
  if (input.intent === 'create' && !input.password && authMode(env) === 'password')
    return json(
      {
        ok: false as const,
        fields: { password: ['A password is required when sign-in is by password.'] } as Record<string, string[]>,
        message: 'Check the highlighted fields.',
      },
      { status: 400 },
    );
  try {
    if (input.intent === 'create') {
      await createStaff(db, me, input);
      return json({ ok: true as const, message: `Added ${input.email} as ${ROLE_LABELS[input.role]}.` });
    }
    if (input.intent === 'role') {
      await changeStaffRole(db, me, input.staffId, input.role);
      return json({ ok: true as const, message: `Role changed to ${ROLE_LABELS[input.role]}.` });
    }
    await setStaffDisabled(db, me, input.staffId, input.intent === 'disable');
    return json({
      ok: true as const,
      message: input.intent === 'disable' ? 'Disabled; their sessions have ended.' : 'Enabled.',
    });
  } catch (error) {
    if (error instanceof StaffConflictError)
      return json(
        { ok: false as const, message: error.message, fields: {} as Record<string, string[]> },
        { status: 409 },
      );
    throw error;
  }
}

export default function StaffAdminPage() {
  const { staff, me } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const passwordSignIn = useRouteLoaderData<typeof rootLoader>('root')?.env.authMode !== 'supabase';
  const fieldErrors: Record<string, string[] | undefined> = result && !result.ok ? result.fields : {};
  return (
    <>
      <header className="page-header">
        <h1>Staff</h1>
        <p className="lede">
          Who can use Switchyard and with which role. <Link to={paths.adminTokens()}>API tokens →</Link>
        </p>
      </header>
      <Toast result={result} />
      <section className="panel">
        <table className="table">
          <caption className="visually-hidden">Staff members</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Sign-in</th>
              <th scope="col">Last seen</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {staff.map((member) => (
              <tr key={member.id} className={member.disabledAt ? 'row-muted' : undefined}>
                <td>{member.displayName}</td>
                <td>{member.email}</td>
                <td>
                  <Form method="post" className="inline-form">
                    <input type="hidden" name="intent" value="role" />
                    <input type="hidden" name="staffId" value={member.id} />
                    <label className="visually-hidden" htmlFor={`role-${member.id}`}>
                      Role of {member.email}
                    </label>
                    <select id={`role-${member.id}`} name="role" defaultValue={member.role}>
                      {ROLES.map((role) => (
                        <option key={role} value={role}>
                          {ROLE_LABELS[role]}
                        </option>
                      ))}
                    </select>
                    <button type="submit" className="button-quiet">
                      Save
                    </button>
                  </Form>
                </td>
                <td>{member.signInMethod}</td>
                <td>{member.lastSeenAt ? <Age date={member.lastSeenAt} /> : 'never'}</td>
                <td>
                  {member.id === me.id ? (
                    <span className="hint">you</span>
                  ) : (
                    <Form method="post" className="inline-form">
                      <input type="hidden" name="staffId" value={member.id} />
                      <button
                        type="submit"
                        name="intent"
                        value={member.disabledAt ? 'enable' : 'disable'}
                        className="button-quiet"
                      >
                        {member.disabledAt ? 'Enable' : 'Disable'}
                      </button>
                    </Form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="panel" aria-labelledby="add-staff">
        <h2 id="add-staff">Add a staff member</h2>
        <Form method="post" className="form form-grid">
          <input type="hidden" name="intent" value="create" />
          <label>
            Email
            <input name="email" type="email" required aria-invalid={Boolean(fieldErrors?.email)} />
            {fieldErrors?.email ? <span className="field-error">{fieldErrors.email[0]}</span> : null}
          </label>
          <label>
            Name
            <input name="displayName" required />
            {fieldErrors?.displayName ? <span className="field-error">{fieldErrors.displayName[0]}</span> : null}
          </label>
          <label>
            Role
            <select name="role" defaultValue="content_manager">
              {ROLES.map((role) => (
                <option key={role} value={role}>
                  {ROLE_LABELS[role]}
                </option>
              ))}
            </select>
          </label>
          <label>
            Password {passwordSignIn ? null : <span className="hint">(leave empty for Supabase sign-in by email)</span>}
            <input
              name="password"
              type="password"
              autoComplete="new-password"
              required={passwordSignIn}
              aria-invalid={Boolean(fieldErrors?.password)}
            />
            {fieldErrors?.password ? <span className="field-error">{fieldErrors.password[0]}</span> : null}
          </label>
          <button type="submit" className="button">
            Add staff member
          </button>
        </Form>
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
