import type { Database } from '../../app/server/db/port.server';
import { seed } from '../../app/server/db/seed.server';
import type { AttemptUsage, NewJob } from '../../app/server/queue.server';

/** Seeds the development courses and returns the chapter ids in a stable order. */
export async function seededChapterIds(db: Database): Promise<string[]> {
  await seed(db);
  const rows = await db.query<{ id: string }>(
    'select ch.id from public.chapters ch join public.courses c on c.id = ch.course_id order by c.slug, ch.position',
  );
  return rows.map((row) => row.id);
}

export function newJob(chapterId: string, overrides: Partial<NewJob> = {}): NewJob {
  return { chapterId, model: 'claude-haiku-5-5', maxTokens: 2000, createdBy: 'test@switchyard.local', ...overrides };
}

export async function jobRow(db: Database, id: string) {
  const [row] = await db.query<Record<string, unknown>>('select * from public.chapter_content_jobs where id = $1', [
    id,
  ]);
  return row;
}

/** The usage of one short attempt, for tests that finish jobs. */
export const attemptUsage: AttemptUsage = {
  generator: 'offline',
  inputTokens: 10,
  outputTokens: 20,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  busyMs: 5,
  costMicros: { input: 1, output: 2, cacheWrite: 0, cacheRead: 0, cloudRun: 0 },
};

/**
 * The database with `beforeQuery` called before each of its queries (and awaited), to watch or
 * time what code under test sends; everything else is the database's own.
 */
export function watchingQueries(
  db: Database,
  beforeQuery: (sql: string, params?: readonly unknown[]) => void | Promise<void>,
): Database {
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'query') {
        return async (sql: string, params?: readonly unknown[]) => {
          await beforeQuery(sql, params);
          return target.query(sql, params);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
