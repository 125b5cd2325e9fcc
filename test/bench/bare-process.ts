import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type pg from 'pg';

/**
 * How a bare baseline server runs as its own process (`startBareServer` in `support.ts` starts
 * it): listens on a free port, prints `listening on <url>`, and on SIGTERM closes and exits.
 */
export function serveBare(server: Server, pool: pg.Pool): void {
  server.listen(0, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  process.on('SIGTERM', () => {
    server.close();
    void pool.end().then(() => process.exit(0));
  });
}
