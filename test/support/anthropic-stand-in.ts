import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Anthropic Messages API that speaks its real streaming wire format
 * (`content-type: text/event-stream`, frames `event: <type>\ndata: <json>\n\n`), so the real SDK
 * can be pointed at it by base URL. Each request takes the next queued scenario (or the default).
 */
export interface Scenario {
  /** Answer with this HTTP error instead of a stream (e.g. 529 overloaded, 400 invalid request). */
  status?: number;
  errorType?: string;
  errorMessage?: string;
  /** Text pieces streamed as text_delta events. */
  text?: string[];
  delayMs?: number;
  /** Send a ping before every Nth piece. */
  pingEvery?: number;
  /** Send `event: error` (overloaded) after this many pieces instead of finishing. */
  errorAfterPieces?: number;
  stopReason?: string;
  usage?: Partial<Usage>;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  ephemeral_5m_input_tokens: number;
  ephemeral_1h_input_tokens: number;
}

export interface RecordedRequest {
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  startedAt: number;
  /** When the client closed the connection before the stream ended (a cancel), else null. */
  clientClosedAt: number | null;
  completed: boolean;
}

export const DEFAULT_USAGE: Usage = {
  input_tokens: 1200,
  output_tokens: 321,
  cache_creation_input_tokens: 1000,
  cache_read_input_tokens: 3000,
  ephemeral_5m_input_tokens: 800,
  ephemeral_1h_input_tokens: 200,
};

const DEFAULT_TEXT = ['# A Chapter\n\n', 'It begins ', 'with a sentence, ', 'and then ', 'another.\n'];

export async function startAnthropicStandIn() {
  const queue: Scenario[] = [];
  const requests: RecordedRequest[] = [];
  let fallback: Scenario = {};

  const server = http.createServer(async (request, response) => {
    if (request.method !== 'POST' || !request.url?.startsWith('/v1/messages')) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const record: RecordedRequest = {
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      headers: request.headers,
      startedAt: Date.now(),
      clientClosedAt: null,
      completed: false,
    };
    requests.push(record);
    response.on('close', () => {
      if (!record.completed) record.clientClosedAt = Date.now();
    });
    const scenario = queue.shift() ?? fallback;

    if (scenario.status) {
      response.writeHead(scenario.status, {
        'content-type': 'application/json',
        'retry-after-ms': '5',
        'request-id': `req_${requests.length}`,
      });
      response.end(
        JSON.stringify({
          type: 'error',
          error: { type: scenario.errorType ?? 'overloaded_error', message: scenario.errorMessage ?? 'Overloaded' },
        }),
      );
      record.completed = true;
      return;
    }

    const usage = { ...DEFAULT_USAGE, ...scenario.usage };
    const text = scenario.text ?? DEFAULT_TEXT;
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'request-id': `req_${requests.length}`,
    });
    const send = (event: string, data: unknown) => {
      if (!response.destroyed) response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send('message_start', {
      type: 'message_start',
      message: {
        id: `msg_${requests.length}`,
        type: 'message',
        role: 'assistant',
        model: record.body.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.input_tokens,
          cache_creation_input_tokens: usage.cache_creation_input_tokens,
          cache_read_input_tokens: usage.cache_read_input_tokens,
          cache_creation: {
            ephemeral_5m_input_tokens: usage.ephemeral_5m_input_tokens,
            ephemeral_1h_input_tokens: usage.ephemeral_1h_input_tokens,
          },
          output_tokens: 1,
        },
      },
    });
    send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    for (let i = 0; i < text.length; i += 1) {
      if (response.destroyed) return;
      if (scenario.errorAfterPieces === i) {
        send('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
        record.completed = true;
        response.end();
        return;
      }
      if (scenario.pingEvery && i % scenario.pingEvery === 0) send('ping', { type: 'ping' });
      if (scenario.delayMs) await new Promise((resolve) => setTimeout(resolve, scenario.delayMs));
      send('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: text[i] },
      });
    }
    if (response.destroyed) return;
    send('content_block_stop', { type: 'content_block_stop', index: 0 });
    send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: scenario.stopReason ?? 'end_turn', stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    send('message_stop', { type: 'message_stop' });
    record.completed = true;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    enqueue: (...scenarios: Scenario[]) => void queue.push(...scenarios),
    setDefault: (scenario: Scenario) => void (fallback = scenario),
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      fallback = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type AnthropicStandIn = Awaited<ReturnType<typeof startAnthropicStandIn>>;
