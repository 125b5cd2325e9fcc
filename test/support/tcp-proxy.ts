import net from 'node:net';

/** PostgreSQL's NotificationResponse message type ('A'), server to client. */
const NOTIFICATION_RESPONSE = 0x41;

export interface TcpProxy {
  port: number;
  /** `connectionString` with its host and port replaced by this proxy's. */
  url(connectionString: string): string;
  /** Drops every connection through the proxy and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  /** Connections open through the proxy now. */
  readonly openConnections: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of PostgreSQL for fault injection: `cut()` is a network path that
 * dies (every socket reset, new ones refused), and `dropNotifications` is a path that carries
 * everything except NOTIFY deliveries — what LISTEN through a transaction-mode pooler looks
 * like to the client. The proxy parses the server's messages for that, which works for
 * connections without TLS (the test servers' `sslmode=disable`).
 */
export async function startTcpProxy(options: {
  targetHost: string;
  targetPort: number;
  dropNotifications?: boolean;
}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let isCut = false;

  const server = net.createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(options.targetPort, options.targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.pipe(upstream);
    if (!options.dropNotifications) {
      upstream.pipe(client);
      return;
    }
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const forward: Buffer[] = [];
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 1 + length) break;
        if (pending[0] !== NOTIFICATION_RESPONSE) forward.push(pending.subarray(0, 1 + length));
        pending = pending.subarray(1 + length);
      }
      if (forward.length > 0) client.write(Buffer.concat(forward));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  const cut = () => {
    isCut = true;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    port,
    url(connectionString) {
      const url = new URL(connectionString);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    cut,
    restore() {
      isCut = false;
    },
    get openConnections() {
      return sockets.size / 2;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
