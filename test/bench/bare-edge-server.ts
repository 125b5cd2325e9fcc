import { createServer } from 'node:http';

import pg from 'pg';

import { serveBare } from './bare-process';

/**
 * The baseline bench:edge measures the app against: a bare `node:http` + `pg` server doing the
 * same SQL per request as the learner routes, in its own process as the app is. A profile GET is
 * answered from a Map keyed by the Authorization header (the floor for a cached read); a miss
 * and a progress POST call the same SQL functions (`learner_profile`, `record_learner_progress`)
 * with the app's pool size. No framework, no JWT verification (the learner id is read from the
 * token unverified), no validation, no rate limit, no routing, no samples: what is left is
 * HTTP and the database's own cost per request.
 *
 * Run as a program: `DATABASE_URL=… DATABASE_POOL_SIZE=20 node --import tsx bare-edge-server.ts`
 * prints `listening on <url>`.
 */
function learnerOf(authorization: string): string {
  const payload = authorization.replace(/^Bearer\s+/i, '').split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub: string }).sub;
}

async function main() {
  const pool = new pg.Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.DATABASE_POOL_SIZE ?? 20),
  });
  const profiles = new Map<string, Buffer>();

  async function profile(authorization: string): Promise<Buffer> {
    const cached = profiles.get(authorization);
    if (cached) return cached;
    const learnerId = learnerOf(authorization);
    const { rows } = await pool.query('select * from public.learner_profile($1)', [learnerId]);
    const body = Buffer.from(JSON.stringify({ learner_id: learnerId, ...rows[0] }));
    profiles.set(authorization, body);
    return body;
  }

  async function progress(authorization: string, text: string): Promise<Buffer> {
    const body = JSON.parse(text) as {
      client_event_id: string;
      chapter_id: string;
      percent: number;
      time_spent_seconds: number;
    };
    const { rows } = await pool.query('select * from public.record_learner_progress($1, $2, $3, $4, $5, $6, $7)', [
      learnerOf(authorization),
      body.chapter_id,
      body.client_event_id,
      0,
      body.percent,
      body.time_spent_seconds,
      false,
    ]);
    return Buffer.from(JSON.stringify(rows[0]));
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const authorization = request.headers.authorization ?? '';
      const answer =
        request.method === 'POST'
          ? progress(authorization, Buffer.concat(chunks).toString('utf8'))
          : profile(authorization);
      answer.then(
        (body) => {
          response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          response.end(body);
        },
        (error: Error) => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: error.message }));
        },
      );
    });
  });
  serveBare(server, pool);
}

void main();
