import type { ChapterGenerator } from '~/domain/generation';
import { pricesFrom, type PriceTable } from '~/domain/prices';

import type { Database } from './db/port.server';
import { selectGenerator } from './generators/select.server';
import { createLogger, type Logger } from './log.server';

/** The settings both processes read the same way (app/server/env.server.ts, worker/env.ts). */
export interface GenerationSettings {
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
  /** The parsed PRICES_OVERRIDE JSON (`PricesOverrideSetting`). */
  PRICES_OVERRIDE?: unknown;
}

/** What generating, pricing and logging a job needs, whichever process runs it. */
export interface Services {
  db: Database;
  generator: ChapterGenerator;
  prices: PriceTable;
  log: Logger;
}

/**
 * The one composition of the app (`server.ts`, the Remix runtime) and the standalone worker
 * (`worker/main.ts`). Both build their generator, prices and logger here, so they cannot
 * drift: they once did, and the worker priced cloud jobs from the default table while the app
 * read PRICES_OVERRIDE.
 */
export function composeServices(settings: GenerationSettings, db: Database, component: string): Services {
  return {
    db,
    generator: selectGenerator(settings),
    prices: pricesFrom(settings.PRICES_OVERRIDE),
    log: createLogger({ component }),
  };
}
