import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { z } from 'zod';

import { Age } from '~/components/clock';
import { TOKEN_SCOPE_LABELS, TOKEN_SCOPES } from '~/domain/permissions';
import { paths } from '~/paths';
import { createApiToken, listApiTokens, revokeApiToken } from '~/server/auth/api-tokens.server';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';

export const meta: MetaFunction = () => [{ title: 'API tokens · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'tokens.manage');
  const { db } = await getRuntime();
  return json({ tokens: await listApiTokens(db) });
}

const CreateSchema = z.object({
  name: z.string().trim().min(1, { message: 'Name the token after its caller, e.g. "CMS".' }).max(80),
  scopes: z.array(z.enum(TOKEN_SCOPES)).min(1, { message: 'Choose at least one scope.' }),
});

export async function action({ request }: ActionFunctionArgs) {
  const me = await requirePermission(request, 'tokens.manage');
  const { db } = await getRuntime();
  const form = await readForm(request);
  if (form.get('intent') === 'revoke') {
    const id = z.uuid().safeParse(form.get('tokenId'));
    if (!id.success) return json({ ok: false as const, message: 'Unknown token.', token: null }, { status: 400 });
    // Revoking cannot be undone: the second step ("Revoke for good") sends the confirmation.
    if (form.get('confirm') !== 'yes')
      return json(
        { ok: false as const, message: 'Confirm the revocation: the token stops working at once.', token: null },
        { status: 400 },
      );
    const revoked = await revokeApiToken(db, me, id.data);
    return json({
      ok: true as const,
      message: revoked ? 'Token revoked: it stops working now.' : 'That token was already revoked.',
      token: null,
    });
  }
  const parsed = CreateSchema.safeParse({ name: form.get('name'), scopes: form.getAll('scopes') });
  if (!parsed.success) {
    return json(
      { ok: false as const, message: parsed.error.issues.map((issue) => issue.message).join(' '), token: null },
      { status: 400 },
    );
  }
  const { token } = await createApiToken(db, me, parsed.data);
  return json({
    ok: true as const,
    message: `Token "${parsed.data.name}" created. Copy it now: it will not be shown again.`,
    token,
  });
}

export default function ApiTokensPage() {
  const { tokens } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle';
  return (
    <>
      <header className="page-header">
        <h1>API tokens</h1>
        <p className="lede">
          Bearer tokens for programs that call <code>/api/content/*</code> and <code>/api/jobs/*</code>.{' '}
          <Link to={paths.adminStaff()}>← Staff</Link>
        </p>
      </header>
      {result ? (
        <div className={result.ok ? 'toast toast-ok' : 'toast toast-error'} role="status">
          <p>{result.message}</p>
          {result.token ? (
            <p>
              <code className="secret" data-testid="new-token">
                {result.token}
              </code>
            </p>
          ) : null}
        </div>
      ) : null}
      <section className="panel">
        {tokens.length === 0 ? (
          <p className="hint">No tokens yet.</p>
        ) : (
          <table className="table">
            <caption className="visually-hidden">API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((token) => (
                <tr key={token.id} className={token.revokedAt ? 'row-muted' : undefined}>
                  <td>{token.name}</td>
                  <td>
                    <code>{token.tokenPrefix}…</code>
                  </td>
                  <td>{token.scopes.join(', ')}</td>
                  <td>
                    <Age date={token.createdAt} /> by {token.createdBy}
                  </td>
                  <td>{token.lastUsedAt ? <Age date={token.lastUsedAt} /> : 'never'}</td>
                  <td>
                    {token.revokedAt ? (
                      'revoked'
                    ) : (
                      // Two steps that need no JavaScript: the first opens the disclosure, the second revokes.
                      <details className="confirm">
                        <summary className="button-quiet">Revoke…</summary>
                        <Form method="post" className="inline-form">
                          <input type="hidden" name="tokenId" value={token.id} />
                          <input type="hidden" name="confirm" value="yes" />
                          <span className="hint">Programs using it stop working at once.</span>
                          <button type="submit" name="intent" value="revoke" className="button-danger" disabled={busy}>
                            {`Revoke ${token.name} for good`}
                          </button>
                        </Form>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel" aria-labelledby="new-token-heading">
        <h2 id="new-token-heading">Create a token</h2>
        {/* Keyed on the token just created: the form starts empty again, so a second click cannot
            quietly create a duplicate of the first. */}
        <Form method="post" className="form" key={result?.token ?? 'new'}>
          <label>
            Name
            <input name="name" required placeholder="CMS" />
          </label>
          <fieldset className="checks">
            <legend>Scopes</legend>
            {TOKEN_SCOPES.map((scope) => (
              <label key={scope}>
                <input
                  type="checkbox"
                  name="scopes"
                  value={scope}
                  defaultChecked={scope === 'submit' || scope === 'read'}
                />{' '}
                {scope} <span className="hint">({TOKEN_SCOPE_LABELS[scope]})</span>
              </label>
            ))}
          </fieldset>
          <button type="submit" className="button" disabled={busy}>
            Create token
          </button>
        </Form>
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
