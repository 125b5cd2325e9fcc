import { calendarDate, findUnstorableText, int4Text, isoTimestamp, isStorableText } from './input';

describe('the input rule', () => {
  it('refuses NUL and unpaired surrogates, and keeps every paired one', () => {
    for (const bad of ['\u0000', 'a\u0000', '\ud800', 'x\udc00', '\udc00\ud800', '😀'.slice(0, 1)])
      expect(isStorableText(bad), JSON.stringify(bad)).toBe(false);
    for (const good of ['', 'plain', '😀', 'e\u0301', '\u202e', '\uffff', '\ud800\udc00'])
      expect(isStorableText(good), JSON.stringify(good)).toBe(true);
  });

  it('names the first unstorable string or key in a JSON value by its path', () => {
    expect(findUnstorableText({ a: ['ok', { b: 'x\u0000' }] })).toBe('a[1].b');
    expect(findUnstorableText({ 'k\ud800': 1 })).toBe('k\ud800');
    expect(findUnstorableText('\u0000')).toBe('body');
    expect(findUnstorableText({ a: [1, null, true, 'fine'] })).toBeNull();
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableText(deep)).toMatch(/^(\[0\]){100000}$/);
  });

  it('takes only real calendar days and instants PostgreSQL can store', () => {
    for (const day of ['2026-02-30', '2026-13-45', '2025-02-29', '0000-01-01', '2026-1-1'])
      expect(calendarDate.safeParse(day).success, day).toBe(false);
    expect(calendarDate.safeParse('2024-02-29').success).toBe(true);
    expect(isoTimestamp.safeParse('2026-02-30T00:00:00.000Z').success).toBe(false);
    expect(isoTimestamp.safeParse('2026-11-29T10:00:00.000Z').success).toBe(true);
  });

  it('takes whole numbers written as digits that an int4 column holds', () => {
    expect(int4Text.parse(' 2147483647 ')).toBe(2147483647);
    for (const bad of ['2147483648', '99999999999', '1e3', '0x10', '', '1.5', 'NaN'])
      expect(int4Text.safeParse(bad).success, bad).toBe(false);
  });
});
