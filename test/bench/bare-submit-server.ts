import { createServer } from 'node:http';

import pg from 'pg';

import { hashToken } from '../../app/server/auth/tokens.server';
import type { Queryable } from '../../app/server/db/port.server';
import { submitJob } from '../../app/server/queue.server';
import { serveBare } from './bare-process';

/**
 * The baseline bench:submit measures the app against (issue 18): a bare `node:http` + `pg`
 * server doing the same SQL per request — token lookup, chapter lookup, `submit_job` — in one
 * transaction per request, with the app's pool size, in its own process as the app is. No
 * framework, no routing config, no idempotency, no wake-up: what is left is the database's own
 * cost per submit.
 *
 * Run as a program: `DATABASE_URL=… DATABASE_POOL_SIZE=20 node --import tsx bare-submit-server.ts`
 * prints `listening on <url>`.
 */
async function main() {
  const pool = new pg.Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.DATABASE_POOL_SIZE ?? 20),
  });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void answer(Buffer.concat(chunks).toString('utf8'), request.headers.authorization ?? '').then(
        ({ status, body }) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(body));
        },
      );
    });
  });

  async function answer(text: string, authorization: string): Promise<{ status: number; body: unknown }> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const tx: Queryable = {
        query: async <Row>(sql: string, params?: readonly unknown[]) =>
          (await client.query(sql, params as unknown[])).rows as Row[],
        exec: async (sql: string) => {
          await client.query(sql);
        },
      };
      const [token] = await tx.query<{ id: string }>(
        'select id, name, scopes from public.api_tokens where token_hash = $1 and revoked_at is null',
        [hashToken(authorization.replace(/^Bearer /, ''))],
      );
      if (!token) {
        await client.query('rollback');
        return { status: 401, body: { error: 'unauthorized' } };
      }
      const { chapter_id: chapterId } = JSON.parse(text) as { chapter_id: string };
      const [chapter] = await tx.query<{ id: string }>('select id from public.chapters where id = $1', [chapterId]);
      if (!chapter) {
        await client.query('rollback');
        return { status: 422, body: { error: 'unknown_chapter' } };
      }
      const { jobId } = await submitJob(tx, {
        chapterId,
        model: 'claude-sonnet-5-5',
        maxTokens: 4096,
        createdBy: `token:${token.id}`,
      });
      await client.query('commit');
      return { status: 202, body: { job_id: jobId, status: 'pending' } };
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      return { status: 500, body: { error: String(error) } };
    } finally {
      client.release();
    }
  }

  serveBare(server, pool);
}

void main();
