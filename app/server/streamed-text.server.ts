import type { Queryable } from './db/port.server';
import { appendProgress, type AttemptUsage } from './queue.server';

/**
 * A job's streamed text (of its current attempt, or of its last one while it is failed, cancelled
 * or waiting for a retry), null when it holds none: an SQL expression over the jobs row `j`.
 */
export const STREAMED_TEXT_SQL = `(select string_agg(c.text, '' order by c.start_offset)
  from public.job_progress_chunks c where c.job_id = j.id)`;

/** The running attempt a writer streams for, as its claim returned it. */
export interface StreamingAttempt {
  jobId: string;
  workerId: string;
  attempt: number;
}

/**
 * Turns a stream's "text so far" reports into appends (ADR 0025): each write sends only the text
 * after what the database has acknowledged, so a write costs the size of what is new, not of the
 * whole text. A write that failed is not acknowledged: the next one sends its text again with
 * what came after, and the database skips what it already holds (the failed write may have
 * committed before its answer was lost). Resolves false when the lease is no longer held.
 *
 * WARNING: each text must extend the one written before (a stream's text only grows), and writes
 * go one after another, as the worker's throttle and the analytics job make them.
 */
export function streamedTextWriter(db: Queryable, attempt: StreamingAttempt) {
  // The acknowledged prefix, in UTF-16 units (to slice JavaScript strings) and in code points
  // (PostgreSQL's length(), which the offsets are in).
  let storedUnits = 0;
  let storedChars = 0;
  return async (textSoFar: string, outputTokens: number, usage?: AttemptUsage): Promise<boolean> => {
    const from = { units: storedUnits, chars: storedChars };
    // A character outside the BMP is two UTF-16 units; a text cut between them keeps the first
    // half for the next write (sent alone, PostgreSQL would store it as U+FFFD for good).
    const end = isHighSurrogate(textSoFar.charCodeAt(textSoFar.length - 1)) ? textSoFar.length - 1 : textSoFar.length;
    const text = textSoFar.slice(from.units, end);
    const held = await appendProgress(db, { ...attempt, offset: from.chars, text, outputTokens, usage });
    if (held && end > storedUnits) {
      storedUnits = end;
      storedChars = from.chars + codePoints(text);
    }
    return held;
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
