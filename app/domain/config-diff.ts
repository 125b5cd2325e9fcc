/**
 * The changes between two JSON values, as a list a person can read in a version history:
 * `canaryPercent: 10 → 25`, `rules[1] added`, `rules[0].timeoutMs: 300000 → 600000`.
 */
export interface ConfigChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

export function diffConfigs(before: unknown, after: unknown, path = ''): ConfigChange[] {
  if (Object.is(before, after)) return [];
  if (Array.isArray(before) && Array.isArray(after)) {
    const changes: ConfigChange[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i += 1) {
      const at = `${path}[${i}]`;
      if (i >= before.length) changes.push({ path: at, kind: 'added', after: after[i] });
      else if (i >= after.length) changes.push({ path: at, kind: 'removed', before: before[i] });
      else changes.push(...diffConfigs(before[i], after[i], at));
    }
    return changes;
  }
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => {
      const at = path ? `${path}.${key}` : key;
      if (!(key in before)) return [{ path: at, kind: 'added' as const, after: after[key] }];
      if (!(key in after)) return [{ path: at, kind: 'removed' as const, before: before[key] }];
      return diffConfigs(before[key], after[key], at);
    });
  }
  return [{ path: path || '(root)', kind: 'changed', before, after }];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeChange(change: ConfigChange): string {
  const show = (value: unknown) => (typeof value === 'object' ? JSON.stringify(value) : String(value));
  if (change.kind === 'added') return `${change.path} added: ${show(change.after)}`;
  if (change.kind === 'removed') return `${change.path} removed`;
  return `${change.path}: ${show(change.before)} → ${show(change.after)}`;
}
