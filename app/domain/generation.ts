/**
 * What a generator needs and returns. Both generators (the Anthropic API and the offline
 * one) implement `ChapterGenerator`, so the worker and the edge path never know which runs.
 */
export interface ChapterPromptInput {
  course: { title: string; audience: string; styleGuide: string };
  chapter: { position: number; title: string; outline: string };
}

export interface GenerationRequest extends ChapterPromptInput {
  model: string;
  maxTokens: number;
  temperature: number | null;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  cacheReadTokens: number;
}

export interface GenerationResult {
  content: string;
  stopReason: string;
  usage: TokenUsage;
}

export interface GenerationHooks {
  signal: AbortSignal;
  /**
   * Called as the stream reports: with everything so far and, when the generator knows it, the
   * usage so far (input and cache tokens from the first event on), so a dead attempt is still
   * billed. Callers throttle their writes. Each text extends the one reported before it: the
   * worker stores only what was added (ADR 0025).
   */
  onProgress(textSoFar: string, outputTokensSoFar: number, usageSoFar?: TokenUsage): void;
}

export interface ChapterGenerator {
  readonly name: 'anthropic' | 'offline';
  generate(request: GenerationRequest, hooks: GenerationHooks): Promise<GenerationResult>;
}

export const ZERO_USAGE: TokenUsage = {
  inputTokens: 0,
  outputTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
};

/**
 * A generation that stopped early: aborted (cancel, shutdown) or failed mid-stream. It
 * carries the usage already spent so that it is still recorded and billed.
 */
export class GenerationError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
    readonly usage: TokenUsage = ZERO_USAGE,
  ) {
    super(message);
    this.name = 'GenerationError';
  }
}

/**
 * Recognises a GenerationError by shape, not by class: the Remix build and the server entry are
 * separate module graphs, so an error made by a generator from one fails `instanceof` in the other.
 */
export function isGenerationError(error: unknown): error is GenerationError {
  return (
    error instanceof Error &&
    error.name === 'GenerationError' &&
    typeof (error as GenerationError).code === 'string' &&
    typeof (error as GenerationError).retryable === 'boolean'
  );
}

/**
 * The prompt, in two parts: the course-level system text is identical for every chapter of
 * a course, so it is the part marked for prompt caching; the chapter part varies.
 */
export function buildChapterPrompt(input: ChapterPromptInput): { system: string; user: string } {
  const system = [
    `You write chapters for the course "${input.course.title}".`,
    `Audience: ${input.course.audience || 'general readers'}.`,
    `Style guide: ${input.course.styleGuide || 'clear, concise and accurate'}.`,
    'Answer with the chapter only, in Markdown, starting with a level-1 heading.',
  ].join('\n');
  const user = [
    `Write chapter ${input.chapter.position}: "${input.chapter.title}".`,
    input.chapter.outline ? `Cover this outline:\n${input.chapter.outline}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  return { system, user };
}

/** A rough count for estimates and the offline generator: about four characters a token. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
