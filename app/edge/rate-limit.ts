/**
 * A per-key fixed-window request counter held in the instance's memory (Web APIs only).
 * WARNING: each edge isolate or Node process counts on its own, so the real ceiling is the limit
 * times the instances serving one learner; it stops a runaway client, not a distributed attack
 * (ADR 0014).
 */
export interface RateLimiter {
  /** Counts one request for `key`; null when allowed, else the seconds until the window ends. */
  take(key: string, now?: number): number | null;
}

export function createRateLimiter(options: { limit: number; windowMs: number; maxKeys?: number }): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  const maxKeys = options.maxKeys ?? 100_000;
  return {
    take(key, now = Date.now()) {
      let window = windows.get(key);
      if (!window || now - window.start >= options.windowMs) {
        if (!window && windows.size >= maxKeys) {
          for (const [other, entry] of windows) if (now - entry.start >= options.windowMs) windows.delete(other);
          if (windows.size >= maxKeys) windows.clear();
        }
        window = { start: now, count: 0 };
        windows.set(key, window);
      }
      window.count += 1;
      if (window.count <= options.limit) return null;
      return Math.max(1, Math.ceil((window.start + options.windowMs - now) / 1000));
    },
  };
}
