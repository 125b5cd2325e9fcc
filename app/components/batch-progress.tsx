export function BatchProgress(batch: {
  total: number;
  succeeded: number;
  failed: number;
  running: number;
  cancelled: number;
}) {
  const done = batch.succeeded + batch.failed + batch.cancelled;
  const share = (n: number) => `${batch.total === 0 ? 0 : (n / batch.total) * 100}%`;
  return (
    <div
      className="progress wide"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={batch.total}
      aria-valuenow={done}
      aria-label={`${done} of ${batch.total} finished`}
    >
      <span className="progress-succeeded" style={{ width: share(batch.succeeded) }} />
      <span className="progress-failed" style={{ width: share(batch.failed + batch.cancelled) }} />
      <span className="progress-running" style={{ width: share(batch.running) }} />
    </div>
  );
}

/** "about 3 min" from remaining jobs and the pace so far; null before anything finished. */
export function formatEta(
  batch: { total: number; succeeded: number; failed: number; cancelled: number; startedAt: string | null },
  now: Date,
): string | null {
  const done = batch.succeeded + batch.failed + batch.cancelled;
  const remaining = batch.total - done;
  if (remaining === 0) return 'done';
  if (done === 0 || !batch.startedAt) return null;
  const elapsed = now.getTime() - new Date(batch.startedAt).getTime();
  const seconds = Math.round(((elapsed / done) * remaining) / 1000);
  return seconds < 60 ? `about ${seconds} s` : `about ${Math.round(seconds / 60)} min`;
}
