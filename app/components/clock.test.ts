import { timeZoneFromCookie } from './clock';
import { formatAge, formatTime } from './format';

describe('the time-zone client hint', () => {
  it('reads the zone from the CH-time-zone cookie, and falls back to UTC without a valid one', () => {
    expect(timeZoneFromCookie('a=1; CH-time-zone=America%2FLos_Angeles; b=2')).toBe('America/Los_Angeles');
    expect(timeZoneFromCookie(null)).toBe('UTC');
    expect(timeZoneFromCookie('CH-time-zone=Mars%2FOlympus_Mons')).toBe('UTC');
    expect(timeZoneFromCookie('CH-time-zone=%E0%A4%A')).toBe('UTC');
  });

  it('formats the same instant in the zone it is given, whatever zone the process runs in', () => {
    const instant = '2026-11-28T21:05:09Z';
    expect(formatTime(instant, 'UTC')).toBe('21:05:09');
    expect(formatTime(instant, 'America/Los_Angeles')).toBe('13:05:09');
    expect(formatAge(instant, new Date('2026-11-28T21:06:09Z'))).toBe('1 min ago');
  });
});
