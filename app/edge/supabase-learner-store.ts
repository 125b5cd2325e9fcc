/**
 * The learner port in production: Supabase over HTTP (PostgREST through supabase-js) with the
 * learner's own JWT, so RLS and the same SQL functions as the local store apply. Web APIs only.
 */
import { createClient } from '@supabase/supabase-js';

import type { LearnerStore } from '~/domain/learner-schemas';

import {
  profileArguments,
  progressArguments,
  toProfileOutcome,
  toProgressOutcome,
  type ProfileRow,
  type ProgressRow,
} from './learner-rows';

export function createSupabaseLearnerStore(options: {
  url: string;
  anonKey: string;
  fetch?: typeof fetch;
}): LearnerStore {
  const clientFor = (token: string) =>
    createClient(options.url, options.anonKey, {
      global: { headers: { Authorization: `Bearer ${token}` }, ...(options.fetch ? { fetch: options.fetch } : {}) },
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    });
  const call = async <Row>(token: string, fn: string, args: Record<string, unknown>): Promise<Row | undefined> => {
    const { data, error } = await clientFor(token).rpc(fn, args);
    if (error) throw new Error(`Supabase ${fn} failed: ${error.message}`);
    return (data as Row[] | null)?.[0];
  };
  return {
    async getProfile(learnerId, token) {
      return toProfileOutcome(learnerId, await call<ProfileRow>(token, 'learner_profile', { p_learner_id: learnerId }));
    },
    async updateProfile(learnerId, token, patch) {
      return toProfileOutcome(
        learnerId,
        await call<ProfileRow>(token, 'update_learner_profile', profileArguments(learnerId, patch)),
      );
    },
    async recordProgress(learnerId, token, update) {
      return toProgressOutcome(
        await call<ProgressRow>(token, 'record_learner_progress', progressArguments(learnerId, update)),
      );
    },
  };
}
