import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { jwtVerify } from 'jose';

import type { Database } from '../../app/server/db/port.server';

/**
 * A local stand-in for the part of Supabase's PostgREST the learner store calls:
 * `POST /rest/v1/rpc/<function>` with named JSON arguments, `apikey` and the learner's
 * `Authorization: Bearer <jwt>`. Like PostgREST it verifies the JWT, then runs the function as
 * the role `authenticated` with `request.jwt.claims` set, so RLS and grants apply as on Supabase.
 */
export async function startPostgrestStandIn(db: Database, options: { jwtSecret: string; anonKey: string }) {
  const calls: { fn: string; args: Record<string, unknown> }[] = [];
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const match = /^\/rest\/v1\/rpc\/([a-z_]+)$/.exec(new URL(request.url ?? '/', 'http://postgrest').pathname);
    if (request.method !== 'POST' || !match) return send(404, { message: 'not found' });
    if (request.headers.apikey !== options.anonKey) return send(401, { message: 'Invalid API key' });
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token ?? '', new TextEncoder().encode(options.jwtSecret)));
    } catch (error) {
      return send(401, { code: 'PGRST301', message: (error as Error).message });
    }
    const fn = match[1];
    const args = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    calls.push({ fn, args });
    const names = Object.keys(args);
    if (!names.every((name) => /^p_[a-z_]+$/.test(name))) return send(400, { message: 'bad argument name' });
    try {
      const rows = await db.transaction(async (tx) => {
        await tx.query(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [
          JSON.stringify(claims),
        ]);
        return tx.query(
          `select * from public.${fn}(${names.map((name, i) => `${name} => $${i + 1}`).join(', ')})`,
          names.map((name) => {
            const value = args[name];
            return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
          }),
        );
      });
      send(200, rows);
    } catch (error) {
      send(400, { code: (error as { code?: string }).code ?? 'P0001', message: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
