import { ComputeMeter } from './compute-meter';

describe('ComputeMeter', () => {
  it('charges each instance-second once, split among the jobs that shared it', () => {
    let now = 0;
    const meter = new ComputeMeter(() => now);
    meter.start('a');
    now = 4_000; // a alone: 4 s
    meter.start('b');
    now = 10_000; // a and b together: 6 s, 3 s each
    expect(meter.stop('a')).toBe(7_000);
    now = 12_000; // b alone again: 2 s
    expect(meter.stop('b')).toBe(5_000);
    // 12 s of instance time, charged 12 s in all (not 4 + 6 + 6 + 2 = 18 s).
  });

  it('is the plain busy time for one job at a time, and nothing while idle', () => {
    let now = 0;
    const meter = new ComputeMeter(() => now);
    now = 5_000;
    meter.start('a');
    now = 6_500;
    expect(meter.shareMs('a')).toBe(1_500);
    now = 8_000;
    expect(meter.stop('a')).toBe(3_000);
  });
});
