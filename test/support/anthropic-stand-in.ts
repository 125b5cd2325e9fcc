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

  let url = '';
  const batches = createBatchEndpoints(() => url);
  const server = http.createServer(async (request, response) => {
    if (request.url?.startsWith('/v1/messages/batches')) {
      await batches.handle(request, response);
      return;
    }
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
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    enqueue: (...scenarios: Scenario[]) => void queue.push(...scenarios),
    setDefault: (scenario: Scenario) => void (fallback = scenario),
    batches: batches.control,
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      fallback = {};
      batches.control.reset();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type AnthropicStandIn = Awaited<ReturnType<typeof startAnthropicStandIn>>;

/** What becomes of one request of a provider batch when the batch ends. */
export type BatchOutcome = 'succeeded' | 'errored' | 'expired' | 'canceled';

export interface BatchBehaviour {
  /** Answer the create call with this HTTP error (e.g. 400, 529) instead of a batch, this many times. */
  createError?: { status: number; type: string; message: string; times: number };
  /** Retrieves answered `in_progress` before the batch ends by itself (default 0: ends at once). */
  endAfterPolls: number;
  /** Each request's outcome (default: succeeded). */
  outcome: (customId: string, index: number) => BatchOutcome;
  /** The next results stream is cut (the connection destroyed) after this many lines, once. */
  breakResultsAfter?: number;
  /** A pause after every result line (a slow results file, to kill a reader in the middle of it). */
  resultLineDelayMs?: number;
}

interface StandInBatch {
  id: string;
  requests: { custom_id: string; params: Record<string, unknown> }[];
  createdAt: string;
  polls: number;
  status: 'in_progress' | 'canceling' | 'ended';
  cancelInitiatedAt: string | null;
  endedAt: string | null;
  outcomes: BatchOutcome[];
}

/**
 * The Message Batches endpoints as the API speaks them (shapes from the SDK's MessageBatch and
 * MessageBatchIndividualResponse types): POST /v1/messages/batches, GET /v1/messages/batches/:id,
 * GET …/:id/results (JSONL, any order in the real API; request order here), POST …/:id/cancel.
 */
function createBatchEndpoints(baseUrl: () => string) {
  const stored = new Map<string, StandInBatch>();
  const defaults = (): BatchBehaviour => ({ endAfterPolls: 0, outcome: () => 'succeeded' });
  let behaviour = defaults();
  let created = 0;
  let resultLinesServed = 0;

  const json = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_batch_${created}` });
    response.end(JSON.stringify(body));
  };
  const notFound = (response: http.ServerResponse) =>
    json(response, 404, { type: 'error', error: { type: 'not_found_error', message: 'No such message batch.' } });

  const end = (batch: StandInBatch) => {
    if (batch.status === 'ended') return;
    const canceling = batch.status === 'canceling';
    batch.outcomes = batch.requests.map((request, index) =>
      canceling ? 'canceled' : behaviour.outcome(request.custom_id, index),
    );
    batch.status = 'ended';
    batch.endedAt = new Date().toISOString();
  };

  const view = (batch: StandInBatch) => {
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (batch.status === 'ended') for (const outcome of batch.outcomes) counts[outcome] += 1;
    else counts.processing = batch.requests.length;
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: batch.status,
      request_counts: counts,
      created_at: batch.createdAt,
      expires_at: new Date(Date.parse(batch.createdAt) + 86_400_000).toISOString(),
      ended_at: batch.endedAt,
      cancel_initiated_at: batch.cancelInitiatedAt,
      archived_at: null,
      results_url: batch.status === 'ended' ? `${baseUrl()}/v1/messages/batches/${batch.id}/results` : null,
    };
  };

  const resultLine = (batch: StandInBatch, index: number) => {
    const request = batch.requests[index];
    const outcome = batch.outcomes[index];
    let result: unknown;
    if (outcome === 'succeeded') {
      result = {
        type: 'succeeded',
        message: {
          id: `msg_${batch.id}_${index}`,
          type: 'message',
          role: 'assistant',
          model: request.params.model,
          content: [{ type: 'text', text: DEFAULT_TEXT.join('') }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: DEFAULT_USAGE.input_tokens,
            output_tokens: DEFAULT_USAGE.output_tokens,
            cache_creation_input_tokens: DEFAULT_USAGE.cache_creation_input_tokens,
            cache_read_input_tokens: DEFAULT_USAGE.cache_read_input_tokens,
            cache_creation: {
              ephemeral_5m_input_tokens: DEFAULT_USAGE.ephemeral_5m_input_tokens,
              ephemeral_1h_input_tokens: DEFAULT_USAGE.ephemeral_1h_input_tokens,
            },
          },
        },
      };
    } else if (outcome === 'errored') {
      result = {
        type: 'errored',
        error: { type: 'error', error: { type: 'api_error', message: 'Internal server error' }, request_id: null },
      };
    } else {
      result = { type: outcome };
    }
    return JSON.stringify({ custom_id: request.custom_id, result });
  };

  async function handle(request: http.IncomingMessage, response: http.ServerResponse) {
    const path = (request.url ?? '').split('?')[0];
    const [, id, action] = /^\/v1\/messages\/batches(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(path) ?? [];
    if (request.method === 'POST' && !id) {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const failure = behaviour.createError;
      if (failure && failure.times > 0) {
        failure.times -= 1;
        response.writeHead(failure.status, { 'content-type': 'application/json', 'retry-after-ms': '5' });
        response.end(JSON.stringify({ type: 'error', error: { type: failure.type, message: failure.message } }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { requests: StandInBatch['requests'] };
      created += 1;
      const batch: StandInBatch = {
        id: `msgbatch_standin_${String(created).padStart(6, '0')}`,
        requests: body.requests,
        createdAt: new Date().toISOString(),
        polls: 0,
        status: 'in_progress',
        cancelInitiatedAt: null,
        endedAt: null,
        outcomes: [],
      };
      stored.set(batch.id, batch);
      json(response, 200, view(batch));
      return;
    }
    const batch = id ? stored.get(id) : undefined;
    if (!batch) return notFound(response);
    if (request.method === 'GET' && !action) {
      batch.polls += 1;
      if (batch.status === 'canceling' || batch.polls > behaviour.endAfterPolls) end(batch);
      return json(response, 200, view(batch));
    }
    if (request.method === 'POST' && action === 'cancel') {
      if (batch.status === 'in_progress') {
        batch.status = 'canceling';
        batch.cancelInitiatedAt = new Date().toISOString();
      }
      return json(response, 200, view(batch));
    }
    if (request.method === 'GET' && action === 'results') {
      if (batch.status !== 'ended') return notFound(response);
      response.writeHead(200, { 'content-type': 'application/binary' });
      const breakAfter = behaviour.breakResultsAfter;
      behaviour.breakResultsAfter = undefined;
      for (let index = 0; index < batch.requests.length; index += 1) {
        if (breakAfter !== undefined && index >= breakAfter) {
          // Let what was written reach the client, then cut the connection mid-file.
          await new Promise((resolve) => setTimeout(resolve, 20));
          response.destroy();
          return;
        }
        if (response.destroyed) return;
        resultLinesServed += 1;
        if (!response.write(resultLine(batch, index) + '\n'))
          await new Promise((resolve) => response.once('drain', resolve));
        if (behaviour.resultLineDelayMs)
          await new Promise((resolve) => setTimeout(resolve, behaviour.resultLineDelayMs));
      }
      response.end();
      return;
    }
    return notFound(response);
  }

  const control = {
    /** Every batch created, in order. */
    list: () => [...stored.values()],
    get created() {
      return created;
    },
    get resultLinesServed() {
      return resultLinesServed;
    },
    behave: (change: Partial<BatchBehaviour>) => void (behaviour = { ...behaviour, ...change }),
    /** Ends every in-progress batch now (with the outcomes the behaviour gives). */
    endAll: () => stored.forEach((batch) => end(batch)),
    reset: () => {
      stored.clear();
      behaviour = defaults();
      created = 0;
      resultLinesServed = 0;
    },
  };
  return { handle, control };
}
