import {
  buildChapterPrompt,
  estimateTokens,
  GenerationError,
  type ChapterGenerator,
  type GenerationRequest,
  type GenerationResult,
  type GenerationHooks,
} from '~/domain/generation';

export interface OfflineGeneratorOptions {
  /** Pause between streamed pieces; realistic pacing by default, 0 in tests. */
  delayMs?: number;
}

/**
 * Used when no ANTHROPIC_API_KEY is configured. It streams deterministic placeholder
 * Markdown with plausible token counts, paced like a real stream, and every job it touches
 * is recorded with generator = 'offline' so nobody mistakes its text for real output.
 */
export function createOfflineGenerator(options: OfflineGeneratorOptions = {}): ChapterGenerator {
  const delayMs = options.delayMs ?? 40;
  return {
    name: 'offline',
    async generate(request: GenerationRequest, hooks: GenerationHooks): Promise<GenerationResult> {
      const prompt = buildChapterPrompt(request);
      const inputTokens = estimateTokens(prompt.system) + estimateTokens(prompt.user);
      const pieces = offlineChapter(request);
      let text = '';
      let outputTokens = 0;
      let stopReason = 'end_turn';
      for (const piece of pieces) {
        if (hooks.signal.aborted) {
          throw new GenerationError('Generation aborted.', 'aborted', false, {
            inputTokens,
            outputTokens,
            cacheWrite5mTokens: 0,
            cacheWrite1hTokens: 0,
            cacheReadTokens: 0,
          });
        }
        const pieceTokens = estimateTokens(piece);
        if (outputTokens + pieceTokens > request.maxTokens) {
          stopReason = 'max_tokens';
          break;
        }
        if (delayMs > 0) await sleep(delayMs, hooks.signal);
        text += piece;
        outputTokens += pieceTokens;
        hooks.onProgress(text, outputTokens, {
          inputTokens,
          outputTokens,
          cacheWrite5mTokens: 0,
          cacheWrite1hTokens: 0,
          cacheReadTokens: 0,
        });
      }
      return {
        content: text,
        stopReason,
        usage: { inputTokens, outputTokens, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, cacheReadTokens: 0 },
      };
    },
  };
}

function offlineChapter(request: GenerationRequest): string[] {
  const bullets = request.chapter.outline
    .split('\n')
    .map((line) => line.replace(/^[-*]\s*/, '').trim())
    .filter(Boolean);
  const pieces = [
    `# ${request.chapter.title}\n\n`,
    `> Offline placeholder: written by Switchyard's offline generator, not by a model. `,
    `Set ANTHROPIC_API_KEY to generate real content.\n\n`,
    `This chapter of *${request.course.title}* is for ${(request.course.audience || 'its readers').replace(/\.$/, '')}.\n\n`,
  ];
  for (const bullet of bullets.length > 0 ? bullets : ['Overview']) {
    pieces.push(`## ${bullet}\n\n`);
    pieces.push(`This section will explain ${bullet.toLowerCase()} `);
    pieces.push(`with an example and a short summary.\n\n`);
  }
  pieces.push('## Summary\n\n', `You now know the key ideas of "${request.chapter.title}".\n`);
  return pieces;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
