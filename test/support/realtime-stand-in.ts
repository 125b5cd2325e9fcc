import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A local stand-in for Supabase Realtime's `postgres_changes`, in its wire protocol (Phoenix
 * channels, vsn 2.0.0: JSON arrays `[join_ref, ref, topic, event, payload]` over a WebSocket at
 * /realtime/v1/websocket). It acknowledges joins with an id per subscription and pushes the
 * changes a test emits to the channels subscribed to that table.
 */
export async function startRealtimeStandIn() {
  const server = http.createServer((_request, response) => response.writeHead(404).end());
  const sockets = new WebSocketServer({ server, path: '/realtime/v1/websocket' });
  const joins: { topic: string; config: unknown; apikey: string | null }[] = [];
  const subscriptions: { socket: WebSocket; topic: string; joinRef: string; id: number; table: string }[] = [];
  let nextId = 1;

  sockets.on('connection', (socket, request) => {
    const apikey = new URL(request.url ?? '/', 'http://x').searchParams.get('apikey');
    socket.on('message', (data) => {
      const [joinRef, ref, topic, event, payload] = JSON.parse(String(data)) as [
        string,
        string,
        string,
        string,
        Record<string, any>,
      ];
      const reply = (response: unknown) =>
        socket.send(JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'ok', response }]));
      if (topic === 'phoenix' && event === 'heartbeat') return reply({});
      if (event === 'phx_join') {
        joins.push({ topic, config: payload.config, apikey });
        const changes = (payload.config?.postgres_changes ?? []) as {
          event: string;
          schema: string;
          table: string;
          filter?: string;
        }[];
        const withIds = changes.map((change) => {
          const id = nextId++;
          subscriptions.push({ socket, topic, joinRef, id, table: change.table });
          return { ...change, id };
        });
        reply({ postgres_changes: withIds });
        socket.send(
          JSON.stringify([
            null,
            null,
            topic,
            'system',
            {
              status: 'ok',
              message: 'Subscribed to PostgreSQL',
              extension: 'postgres_changes',
              channel: topic.replace(/^realtime:/, ''),
            },
          ]),
        );
        return;
      }
      reply({});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    joins,
    subscribed: (table: string) => subscriptions.some((subscription) => subscription.table === table),
    /** Pushes a change of `table` as Realtime does after a committed write. */
    emit(
      table: string,
      type: 'INSERT' | 'UPDATE' | 'DELETE',
      record: Record<string, unknown>,
      oldRecord: Record<string, unknown> = {},
    ) {
      for (const subscription of subscriptions.filter((candidate) => candidate.table === table)) {
        subscription.socket.send(
          JSON.stringify([
            subscription.joinRef,
            null,
            subscription.topic,
            'postgres_changes',
            {
              ids: [subscription.id],
              data: {
                schema: 'public',
                table,
                commit_timestamp: new Date().toISOString(),
                type,
                record,
                old_record: oldRecord,
                columns: [],
                errors: null,
              },
            },
          ]),
        );
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.close(() => resolve());
      }),
  };
}
