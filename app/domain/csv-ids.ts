/**
 * Chapter ids pasted or uploaded as CSV: one id per line, or the first column of a CSV with an
 * optional header. Each line is judged on its own so the page can say which lines are wrong.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CsvIdsResult {
  ids: string[];
  errors: { line: number; text: string; problem: string }[];
}

export function parseChapterIdsCsv(text: string, knownIds?: ReadonlySet<string>): CsvIdsResult {
  const ids: string[] = [];
  const errors: CsvIdsResult['errors'] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const first = raw.split(',')[0]?.trim().replace(/^"|"$/g, '') ?? '';
    if (first === '') return;
    if (index === 0 && /chapter/i.test(first) && !UUID.test(first)) return; // a header row
    const id = first.toLowerCase();
    if (!UUID.test(id)) errors.push({ line, text: first, problem: 'is not a chapter id (a UUID)' });
    else if (seen.has(id)) errors.push({ line, text: first, problem: 'repeats an earlier line' });
    else if (knownIds && !knownIds.has(id)) errors.push({ line, text: first, problem: 'matches no chapter' });
    else {
      seen.add(id);
      ids.push(id);
    }
  });
  return { ids, errors };
}
