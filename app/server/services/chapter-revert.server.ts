import { audit } from '../audit.server';
import { drainWithRuntime } from '../cache-invalidation.server';
import { createLogger } from '../log.server';
import type { Runtime } from '../runtime.server';

export type RevertChapterResult =
  | { kind: 'reverted'; version: number; from: number }
  | { kind: 'unknown_chapter' }
  | { kind: 'unknown_version'; currentVersion: number }
  | { kind: 'already_current'; version: number };

const log = createLogger({ component: 'chapter-revert' });

/**
 * Puts an earlier version of a chapter back as a new version (`revert_chapter`), audited in the
 * same transaction. The chapters trigger queues `chapter:<id>` and `course:<id>` in the cache
 * outbox with it; the drain is started at once (not awaited, retried by the sweeper) so the CDN
 * stops serving the replaced content within the request's second rather than the next sweep.
 */
export async function revertChapter(
  runtime: Runtime,
  actor: string,
  chapterId: string,
  version: number,
): Promise<RevertChapterResult> {
  const result = await runtime.db.transaction(async (tx): Promise<RevertChapterResult> => {
    const [row] = await tx.query<{ outcome: string; version: number | null; current_version: number | null }>(
      'select * from public.revert_chapter($1, $2, $3)',
      [chapterId, version, actor],
    );
    switch (row.outcome) {
      case 'unknown_chapter':
        return { kind: 'unknown_chapter' };
      case 'unknown_version':
        return { kind: 'unknown_version', currentVersion: row.current_version ?? 0 };
      case 'already_current':
        return { kind: 'already_current', version };
    }
    await audit(tx, {
      actor,
      action: 'chapter.revert',
      targetType: 'chapter',
      targetId: chapterId,
      detail: { from: version, version: row.version },
    });
    return { kind: 'reverted', version: row.version!, from: version };
  });
  if (result.kind === 'reverted')
    drainWithRuntime(runtime).catch((error: Error) =>
      log.warn('cache invalidation failed; the sweeper retries it', { error: error.message }),
    );
  return result;
}
