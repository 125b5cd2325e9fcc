/**
 * The learner edge handlers as an edge function, for the `edge-runtime` sandbox test: the
 * production wiring (Supabase store over HTTP, Supabase JWT verification) with its settings
 * read from `self.EDGE_TEST_SETTINGS`, and route samples kept in `self.routeSamples`.
 */
import { DEFAULT_ROUTING_CONFIG } from '~/domain/routing';
import { handleProfile, handleProgressUpdate, PROFILE_PATH, type RouteSample } from '~/edge/learner-api';
import { createRateLimiter } from '~/edge/rate-limit';
import { createSupabaseLearnerStore } from '~/edge/supabase-learner-store';

interface Settings {
  supabaseUrl: string;
  anonKey: string;
  issuerUrl: string;
  jwtSecret: string;
}

const scope = self as unknown as { EDGE_TEST_SETTINGS: Settings; routeSamples: RouteSample[] };
const settings = scope.EDGE_TEST_SETTINGS;
scope.routeSamples = [];

const deps = {
  store: createSupabaseLearnerStore({ url: settings.supabaseUrl, anonKey: settings.anonKey }),
  auth: { supabaseUrl: settings.issuerUrl, jwtSecret: settings.jwtSecret },
  routing: async () => ({ config: DEFAULT_ROUTING_CONFIG, version: 0 }),
  rateLimiter: createRateLimiter({ limit: 100, windowMs: 60_000 }),
  recordSample: (sample: RouteSample) => void scope.routeSamples.push(sample),
};

addEventListener('fetch', (event) => {
  const fetchEvent = event as unknown as { request: Request; respondWith(response: Promise<Response>): void };
  const { pathname } = new URL(fetchEvent.request.url);
  fetchEvent.respondWith(
    pathname === PROFILE_PATH
      ? handleProfile(fetchEvent.request, deps)
      : handleProgressUpdate(fetchEvent.request, deps),
  );
});
