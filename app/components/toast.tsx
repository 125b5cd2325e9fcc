/** The outcome of a form action, announced to screen readers. */
export function Toast({ result }: { result?: { ok: boolean; message: string } | null }) {
  if (!result) return null;
  return (
    <p className={result.ok ? 'toast toast-ok' : 'toast toast-error'} role="status">
      {result.message}
    </p>
  );
}
