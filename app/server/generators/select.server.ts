import type { ChapterGenerator } from '~/domain/generation';

import { createAnthropicGenerator } from './anthropic.server';
import { createOfflineGenerator } from './offline.server';

/**
 * The Anthropic API whenever a key is configured; the offline generator (labelled as such on
 * every job) only when none is. Never the offline one when a key is set.
 */
export function selectGenerator(config: { ANTHROPIC_API_KEY?: string; ANTHROPIC_BASE_URL?: string }): ChapterGenerator {
  return config.ANTHROPIC_API_KEY
    ? createAnthropicGenerator({ apiKey: config.ANTHROPIC_API_KEY, baseURL: config.ANTHROPIC_BASE_URL })
    : createOfflineGenerator();
}
