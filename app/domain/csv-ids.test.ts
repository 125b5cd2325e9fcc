import { parseChapterIdsCsv } from './csv-ids';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

describe('parseChapterIdsCsv', () => {
  it('reads one id per line or the first CSV column, skipping a header and blank lines', () => {
    expect(parseChapterIdsCsv(`chapter_id,title\n${A},"Intro"\n\n${B.toUpperCase()}\n`)).toEqual({
      ids: [A, B],
      errors: [],
    });
  });

  it('names every bad line with its problem', () => {
    const known = new Set([A]);
    expect(parseChapterIdsCsv(`${A}\nnot-an-id\n${A}\n${B}`, known).errors).toEqual([
      { line: 2, text: 'not-an-id', problem: 'is not a chapter id (a UUID)' },
      { line: 3, text: A, problem: 'repeats an earlier line' },
      { line: 4, text: B, problem: 'matches no chapter' },
    ]);
  });
});
