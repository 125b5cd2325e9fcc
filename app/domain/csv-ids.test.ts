import { batchSelection, describeSelection, parseChapterIdsCsv } from './csv-ids';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

describe('parseChapterIdsCsv', () => {
  it('reads one id per line or the first CSV column, skipping a header and blank lines', () => {
    expect(parseChapterIdsCsv(`chapter_id,title\n${A},"Intro"\n\n${B.toUpperCase()}\n`)).toEqual({
      ids: [A, B],
      repeated: 0,
      errors: [],
    });
  });

  it('names every bad line with its problem, and counts repeats without refusing them', () => {
    const known = new Set([A]);
    expect(parseChapterIdsCsv(`${A}\nnot-an-id\n${A}\n${B}`, known)).toEqual({
      ids: [A],
      repeated: 1,
      errors: [
        { line: 2, text: 'not-an-id', problem: 'is not a chapter id (a UUID)' },
        { line: 4, text: B, problem: 'matches no chapter' },
      ],
    });
  });

  it('announces exactly what a batch will queue: each chapter once, ticked or pasted', () => {
    const ids = Array.from({ length: 8 }, (_, i) => `${String(i + 1).repeat(8)}-1111-4111-8111-111111111111`);
    const pasted = parseChapterIdsCsv([...ids, ...ids.slice(0, 4)].join('\n'));
    const selection = batchSelection([], pasted);
    expect(selection.ids).toEqual(ids);
    expect(describeSelection(selection)).toBe('12 ids, 4 repeated: 8 chapters will be queued.');
    const withTicked = batchSelection([ids[0], '99999999-9999-4999-8999-999999999999'], pasted);
    expect(withTicked.ids).toHaveLength(9);
    expect(describeSelection(withTicked)).toBe('14 ids, 5 repeated: 9 chapters will be queued.');
    expect(describeSelection(batchSelection([A], parseChapterIdsCsv('')))).toBe('1 chapter will be queued.');
  });
});
