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

/** A change's path as steps: `rules[1].retry.backoff` → ['rules', 1, 'retry', 'backoff']. */
function pathSteps(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((match) =>
    match[2] !== undefined ? Number(match[2]) : match[1],
  );
}

/** Whether two changes touch the same field (or one a part of the other: `rules[1]` and `rules[1].priority`). */
export function overlaps(a: ConfigChange, b: ConfigChange): boolean {
  const [shorter, longer] = a.path.length <= b.path.length ? [a.path, b.path] : [b.path, a.path];
  return longer === shorter || longer.startsWith(`${shorter}.`) || longer.startsWith(`${shorter}[`);
}

/**
 * Applies changes (as `diffConfigs` reports them) on top of another value: the re-apply of one
 * person's edit on a version someone else saved meanwhile. Returns a new value; the input is
 * left alone. The result is unvalidated: the config schema checks it like any edit.
 */
export function applyChanges<T>(value: T, changes: ConfigChange[]): T {
  const result = structuredClone(value) as unknown;
  // Removals last and from the end, so an earlier index still names the element it named.
  const removals = changes
    .filter((change) => change.kind === 'removed')
    .sort((a, b) => b.path.localeCompare(a.path, 'en', { numeric: true }));
  const ordered = [...changes.filter((change) => change.kind !== 'removed'), ...removals];
  for (const change of ordered) {
    const steps = pathSteps(change.path);
    if (steps.length === 0) continue;
    let parent = result as Record<string | number, unknown>;
    for (const step of steps.slice(0, -1)) {
      if (typeof parent[step] !== 'object' || parent[step] === null) parent[step] = typeof step === 'number' ? [] : {};
      parent = parent[step] as Record<string | number, unknown>;
    }
    const last = steps[steps.length - 1];
    if (change.kind === 'removed') {
      if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
      else delete parent[last];
    } else if (change.kind === 'added' && Array.isArray(parent) && typeof last === 'number') {
      parent.splice(Math.min(last, parent.length), 0, structuredClone(change.after));
    } else {
      parent[last] = structuredClone(change.after);
    }
  }
  return result as T;
}
