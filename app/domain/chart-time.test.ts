import { bucketTick, bucketTitle } from './chart-time';

// The labels are the same on a server in UTC and a browser anywhere: no hydration mismatch.
describe('chart bucket labels', () => {
  it('labels UTC days and hours in UTC whatever the process time zone', () => {
    expect(bucketTick('2026-11-29', 'day')).toBe('Nov 29');
    expect(bucketTitle('2026-11-29', 'day')).toBe('Nov 29 (UTC)');
    expect(bucketTick('2026-11-29T13:00Z', 'hour')).toBe('13:00');
    expect(bucketTick('2026-11-29T00:00Z', 'hour')).toBe('Nov 29');
    expect(bucketTitle('2026-11-29T23:00Z', 'hour')).toBe('Nov 29, 23:00–00:00 UTC');
  });
});
