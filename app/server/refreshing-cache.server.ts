/**
 * A value read at most once per `freshMs` per process (per database handle, `keyOf`), for reads
 * every request needs and that change rarely: the routing config, the live rollouts. Past
 * `freshMs` the last value is still served, for at most `staleMs` from when it was read, while
 * one read refreshes it; a caller only waits for a read when there is no value yet or it is
 * older than `staleMs`. Measured (bench:edge, 50 concurrent progress POSTs on a 20-connection
 * pool): when every request that found the value expired read it again, those reads queued
 * behind the pool and cost the route tens of milliseconds each second.
 *
 * A change made in this process calls `forget`, so it is seen here at once; one made elsewhere
 * is seen within `freshMs` (plus one read).
 */
export function refreshingCache<Source, Value>(options: {
  keyOf: (source: Source) => object;
  read: (source: Source) => Promise<Value>;
  freshMs: number;
  staleMs: number;
  /** Every failed read is reported here; callers answered with the last value never see it. */
  onRefreshError: (error: Error) => void;
}): { get(source: Source): Promise<Value>; forget(key: object): void } {
  interface Cached {
    value: Value | undefined;
    at: number;
    refreshing: Promise<Value> | null;
  }
  const cache = new WeakMap<object, Cached>();
  return {
    get(source) {
      const key = options.keyOf(source);
      const hit = cache.get(key);
      const age = hit ? Date.now() - hit.at : Infinity;
      if (hit && age < options.freshMs) return Promise.resolve(hit.value as Value);
      const servesStale = hit !== undefined && age < options.staleMs;
      if (hit?.refreshing) return servesStale ? Promise.resolve(hit.value as Value) : hit.refreshing;
      const entry: Cached = hit ?? { value: undefined, at: -Infinity, refreshing: null };
      const refreshing = options
        .read(source)
        .then((value) => {
          if (cache.get(key) === entry) Object.assign(entry, { value, at: Date.now() });
          return value;
        })
        .finally(() => (entry.refreshing = null));
      // Callers answered with the last value do not await this read.
      refreshing.catch(options.onRefreshError);
      entry.refreshing = refreshing;
      if (!hit) cache.set(key, entry);
      return servesStale ? Promise.resolve(hit.value as Value) : refreshing;
    },
    forget(key) {
      cache.delete(key);
    },
  };
}
