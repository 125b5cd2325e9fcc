import { applyChanges, diffConfigs, overlaps } from './config-diff';
import { DEFAULT_ROUTING_CONFIG, type RoutingConfig } from './routing';

describe('applyChanges', () => {
  const base = DEFAULT_ROUTING_CONFIG;

  it('re-applies one edit on a version someone else changed, keeping both', () => {
    const mine: RoutingConfig = { ...base, stickyKey: 'course', rules: [{ ...base.rules[0], timeoutMs: 600_000 }] };
    const theirs: RoutingConfig = { ...base, canaryPercent: 25 };
    const merged = applyChanges(theirs, diffConfigs(base, mine));
    expect(merged).toEqual({ ...theirs, stickyKey: 'course', rules: [{ ...base.rules[0], timeoutMs: 600_000 }] });
    expect(theirs.canaryPercent).toBe(25);
    expect(theirs.rules[0].timeoutMs).toBe(base.rules[0].timeoutMs);
  });

  it('adds and removes rules, and reproduces the edit exactly on its own base', () => {
    const added = { ...base.rules[0], id: 'extra', match: { path: '/api/extra' } };
    const grown: RoutingConfig = { ...base, rules: [...base.rules, added] };
    expect(applyChanges(base, diffConfigs(base, grown))).toEqual(grown);
    const shrunk: RoutingConfig = { ...grown, rules: [] };
    expect(applyChanges(grown, diffConfigs(grown, shrunk))).toEqual(shrunk);
  });

  it('tells fields that overlap from fields that merely share a prefix', () => {
    const change = (path: string) => ({ path, kind: 'changed' as const });
    expect(overlaps(change('rules[1]'), change('rules[1].priority'))).toBe(true);
    expect(overlaps(change('canaryPercent'), change('canaryPercent'))).toBe(true);
    expect(overlaps(change('rules[1]'), change('rules[10].priority'))).toBe(false);
    expect(overlaps(change('defaultRule.retry'), change('defaultRule.retryX'))).toBe(false);
  });
});
