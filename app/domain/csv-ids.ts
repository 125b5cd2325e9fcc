/**
 * Chapter ids pasted or uploaded as CSV: one id per line, or the first column of a CSV with an
 * optional header. Each line is judged on its own so the page can say which lines are wrong.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CsvIdsResult {
  /** Each good id once, in the order first pasted. */
  ids: string[];
  /** Good lines that repeat an earlier line: not an error, they are queued once. */
  repeated: number;
  errors: { line: number; text: string; problem: string }[];
}

export function parseChapterIdsCsv(text: string, knownIds?: ReadonlySet<string>): CsvIdsResult {
  const ids: string[] = [];
  const errors: CsvIdsResult['errors'] = [];
  const seen = new Set<string>();
  let repeated = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const first = raw.split(',')[0]?.trim().replace(/^"|"$/g, '') ?? '';
    if (first === '') return;
    if (index === 0 && /chapter/i.test(first) && !UUID.test(first)) return; // a header row
    const id = first.toLowerCase();
    if (!UUID.test(id)) errors.push({ line, text: first, problem: 'is not a chapter id (a UUID)' });
    else if (knownIds && !knownIds.has(id)) errors.push({ line, text: first, problem: 'matches no chapter' });
    else if (seen.has(id)) repeated += 1;
    else {
      seen.add(id);
      ids.push(id);
    }
  });
  return { ids, repeated, errors };
}

/**
 * The chapters a batch will queue: those ticked plus those pasted, each once. The page shows
 * these counts and the action queues exactly `ids`, so what is announced is what is queued.
 */
export function batchSelection(picked: Iterable<string>, pasted: CsvIdsResult) {
  const ticked = [...picked];
  const ids = [...new Set([...ticked, ...pasted.ids])];
  const given = ticked.length + pasted.ids.length + pasted.repeated;
  return { ids, given, repeated: given - ids.length };
}

/** "12 ids, 4 repeated: 8 chapters will be queued." (the repeats part only when there are some). */
export function describeSelection({ ids, given, repeated }: ReturnType<typeof batchSelection>): string {
  const queued = `${ids.length} chapter${ids.length === 1 ? '' : 's'} will be queued.`;
  return repeated > 0 ? `${given} ids, ${repeated} repeated: ${queued}` : queued;
}
