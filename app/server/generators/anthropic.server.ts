import Anthropic from '@anthropic-ai/sdk';

import {
  buildChapterPrompt,
  estimateTokens,
  GenerationError,
  type ChapterGenerator,
  type GenerationHooks,
  type GenerationRequest,
  type GenerationResult,
  type TokenUsage,
} from '~/domain/generation';

export interface AnthropicGeneratorOptions {
  apiKey: string;
  baseURL?: string;
  /** Retries inside the SDK (429, 529, 5xx, connection errors) before the job's own retry policy. */
  maxRetries?: number;
  timeoutMs?: number;
}

/** HTTP statuses worth trying again later: rate limits, overload and server errors. */
const RETRYABLE_STATUS = new Set([408, 409, 429, 500, 502, 503, 504, 529]);

/**
 * The Messages API request for a chapter, as the streaming path and the batch dispatcher both
 * send it: the course-level system prompt marked for prompt caching. `cacheTtl: '1h'` where the
 * same course prompt repeats over a batch's hours (ADR 0020); the 5-minute default otherwise.
 */
export function chapterMessageParams(
  request: GenerationRequest,
  cacheTtl: '5m' | '1h' = '5m',
): Anthropic.MessageCreateParamsNonStreaming {
  const prompt = buildChapterPrompt(request);
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    ...(request.temperature === null ? {} : { temperature: request.temperature }),
    system: [
      {
        type: 'text',
        text: prompt.system,
        cache_control: cacheTtl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' },
      },
    ],
    messages: [{ role: 'user', content: prompt.user }],
  };
}

/** The usage block of a message, split by cache lifetime when the API reports the split. */
export function usageFromMessage(usage: Anthropic.Usage): TokenUsage {
  // The split by lifetime prices 1-hour writes correctly; older responses only carry the total,
  // which is then priced as 5-minute writes.
  const split = usage.cache_creation;
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheReadTokens: usage.cache_read_input_tokens ?? 0,
    cacheWrite5mTokens: split ? split.ephemeral_5m_input_tokens : (usage.cache_creation_input_tokens ?? 0),
    cacheWrite1hTokens: split ? split.ephemeral_1h_input_tokens : 0,
  };
}

/**
 * Streams a chapter from the Messages API. The course-level system prompt is marked for prompt
 * caching (it is the same for every chapter of a course), so a batch pays full input price once
 * per five minutes and cache-read price after.
 */
export function createAnthropicGenerator(options: AnthropicGeneratorOptions): ChapterGenerator {
  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: options.maxRetries ?? 2,
    timeout: options.timeoutMs ?? 600_000,
  });

  return {
    name: 'anthropic',
    async generate(request: GenerationRequest, hooks: GenerationHooks): Promise<GenerationResult> {
      const usage: TokenUsage = {
        inputTokens: 0,
        outputTokens: 0,
        cacheWrite5mTokens: 0,
        cacheWrite1hTokens: 0,
        cacheReadTokens: 0,
      };
      let text = '';
      let stopReason = 'unknown';
      try {
        const stream = await client.messages.create(
          { ...chapterMessageParams(request), stream: true },
          { signal: hooks.signal },
        );
        for await (const event of stream) {
          if (event.type === 'message_start') {
            Object.assign(usage, usageFromMessage(event.message.usage));
            // Billed from here on, even if nothing else arrives: record it at once.
            hooks.onProgress(text, usage.outputTokens, { ...usage });
          } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
            text += event.delta.text;
            usage.outputTokens = Math.max(usage.outputTokens, estimateTokens(text));
            hooks.onProgress(text, usage.outputTokens, { ...usage });
          } else if (event.type === 'message_delta') {
            stopReason = event.delta.stop_reason ?? stopReason;
            usage.outputTokens = event.usage.output_tokens;
          }
        }
      } catch (error) {
        throw toGenerationError(error, usage, hooks.signal);
      }
      return { content: text, stopReason, usage };
    },
  };
}

function toGenerationError(error: unknown, usage: TokenUsage, signal: AbortSignal): GenerationError {
  if (signal.aborted || error instanceof Anthropic.APIUserAbortError) {
    return new GenerationError('Generation aborted.', 'aborted', false, usage);
  }
  if (error instanceof Anthropic.APIConnectionError) {
    return new GenerationError(`Could not reach the Anthropic API: ${error.message}`, 'connection_error', true, usage);
  }
  if (error instanceof Anthropic.APIError) {
    const body = error.error as { error?: { type?: string; message?: string } } | undefined;
    const type = body?.error?.type ?? 'api_error';
    const message = body?.error?.message ?? error.message;
    // A mid-stream `event: error` has no HTTP status; its type says whether to retry.
    const retryable =
      error.status === undefined
        ? ['overloaded_error', 'api_error', 'rate_limit_error'].includes(type)
        : RETRYABLE_STATUS.has(error.status);
    return new GenerationError(`Anthropic ${error.status ?? 'stream'} ${type}: ${message}`, type, retryable, usage);
  }
  return new GenerationError((error as Error).message ?? String(error), 'generator_error', true, usage);
}
