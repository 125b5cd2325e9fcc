/**
 * The one input rule for every value that comes from outside (JSON bodies, headers, query
 * strings, form fields), as small zod building blocks and a check for whole JSON values.
 *
 * Why each exists: PostgreSQL refuses a NUL in `text` and `jsonb`, and a lone UTF-16 surrogate
 * is either refused (`jsonb`) or silently turned into U+FFFD (`text`); an `integer` column holds
 * only int4; `date` and `timestamptz` refuse 2026-02-30. Each of those reached the database and
 * came back as a 500. Checked here, the caller gets a 400 that names the field instead.
 */
import { z } from 'zod';

/** A NUL, a high surrogate not followed by a low one, or a low surrogate not after a high one. */
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/** Any text a caller may send: a string PostgreSQL can store as it was sent. */
export const safeText = z.string({ message: 'must be text' }).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

/** PostgreSQL has no year 0 (1 BC comes before 1 AD); zod's ISO formats allow it. */
const notYearZero = (value: string) => !value.startsWith('0000');

/** A real calendar day as YYYY-MM-DD (2026-02-30 and 2026-13-45 are refused). */
export const calendarDate = z.iso
  .date({ message: 'must be a real date as YYYY-MM-DD' })
  .refine(notYearZero, { message: 'must be a real date as YYYY-MM-DD' });

/** A real instant as an ISO 8601 UTC timestamp (`2026-11-29T10:00:00.000Z`). */
export const isoTimestamp = z.iso
  .datetime({ message: 'must be an ISO 8601 UTC timestamp' })
  .refine(notYearZero, { message: 'must be an ISO 8601 UTC timestamp' });

export const INT4_MIN = -2_147_483_648;
export const INT4_MAX = 2_147_483_647;

/** A whole number an `integer` (int4) column holds. */
export const int4 = z
  .number({ message: 'must be a whole number' })
  .int({ message: 'must be a whole number' })
  .min(INT4_MIN, { message: `must be at least ${INT4_MIN}` })
  .max(INT4_MAX, { message: `must be at most ${INT4_MAX}` });

/**
 * A whole number written as text (query strings, form fields) that an int4 column holds. Only
 * digits: `z.coerce.number()` would also take "", "0x10" and "1e3".
 */
export const int4Text = z
  .string({ message: 'must be a whole number' })
  .trim()
  .regex(/^[+-]?\d{1,12}$/, { message: 'must be a whole number' })
  .transform(Number)
  .pipe(int4);

/**
 * The path of the first string or object key in a parsed JSON value that breaks the text rule
 * (`name`, `chapter_ids[3]`, `body` for a bare string), or null when every one is fine. Walks
 * with its own stack: JSON.parse accepts nesting far deeper than the call stack would.
 */
export function findUnstorableText(value: unknown, root = ''): string | null {
  const stack: { value: unknown; path: string }[] = [{ value, path: root }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (!isStorableText(current)) return path || 'body';
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: `${path}[${i}]` });
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, child] of Object.entries(current)) {
        const childPath = path ? `${path}.${key}` : key;
        if (!isStorableText(key)) return childPath;
        stack.push({ value: child, path: childPath });
      }
    }
  }
  return null;
}

/** zod issues as `{ "chapter_ids[3]": ["must be a chapter id (a UUID)"] }` for error answers. */
export function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const name =
      issue.path.reduce<string>(
        (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
        '',
      ) || 'body';
    (fields[name] ??= []).push(issue.message);
  }
  return fields;
}
