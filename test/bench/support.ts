import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import pg from 'pg';

import { migrate } from '../../app/server/db/migrate.server';
import type { Database } from '../../app/server/db/port.server';
import { openPostgres } from '../../app/server/db/postgres.server';
import { runEntry } from '../support/app-process';

/** The server benchmarks use: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local one. */
export const BASE_URL =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * This checkout's mark on its benchmark databases: two engineers running the same bench from
 * two checkouts against one server would otherwise drop each other's database mid-run.
 */
const CHECKOUT = createHash('sha256').update(process.cwd()).digest('hex').slice(0, 8);

/**
 * A fresh, migrated database for `name` on the benchmark server, named `<name>_<checkout>`: a
 * rerun from the same checkout replaces its own, one from another checkout leaves it alone.
 */
export async function freshDatabase(base: string, poolSize = 10): Promise<{ db: Database; url: string }> {
  const name = `${base}_${CHECKOUT}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  const db = openPostgres({ connectionString: url.toString(), poolSize });
  await migrate(db);
  return { db, url: url.toString() };
}

/** Inserts one course with `count` chapters and returns their ids. */
export async function manyChapters(db: Database, count: number): Promise<string[]> {
  await db.query(
    `insert into public.courses (slug, title) values ('bench', 'Benchmark course') on conflict do nothing`,
  );
  const rows = await db.query<{ id: string }>(
    `insert into public.chapters (course_id, position, title, outline)
     select (select id from public.courses where slug = 'bench'), n, 'Chapter ' || n, '- a point'
     from generate_series(1, $1) as n
     returning id`,
    [count],
  );
  return rows.map((row) => row.id);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function fmt(value: number, digits = 2): string {
  return value.toFixed(digits);
}

/**
 * A process's CPU time so far (ms), from /proc (Linux; clock ticks of 10 ms). On a shared machine
 * latency depends on what else runs, CPU time per request much less: it is the steadier figure.
 */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * Starts a bare baseline server (a program that prints `listening on <url>`) in its own process,
 * as the app runs in its own, and waits until it listens.
 */
export async function startBareServer(entry: string, env: Record<string, string>) {
  const { child, output, exited } = runEntry(entry, env);
  const deadline = Date.now() + 60_000;
  let match: RegExpMatchArray | null;
  while (!(match = /listening on (\S+)/.exec(output()))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`baseline did not start:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: match[1],
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
