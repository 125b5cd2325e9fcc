import type { LearnerStore } from '~/domain/learner-schemas';
import { profileArguments, toProfileOutcome, type ProfileRow } from '~/edge/learner-rows';

import type { Queryable } from './db/port.server';
import { recordProgressBatched } from './progress-batcher.server';

/**
 * The learner port on the local database (`npm start`, tests, a deployment next to
 * PostgreSQL). The server has verified the learner's JWT; each operation is one call of the SQL
 * function a learner's own Supabase client would call (`app/edge/supabase-learner-store.ts`);
 * progress updates that arrive together are sent as one call that runs it once per update.
 */
export function createSqlLearnerStore(db: Queryable): LearnerStore {
  return {
    async getProfile(learnerId) {
      const [row] = await db.query<ProfileRow>('select * from public.learner_profile($1)', [learnerId]);
      return toProfileOutcome(learnerId, row);
    },
    async updateProfile(learnerId, _token, patch) {
      const args = profileArguments(learnerId, patch);
      const [row] = await db.query<ProfileRow>('select * from public.update_learner_profile($1, $2, $3, $4)', [
        args.p_learner_id,
        args.p_display_name,
        args.p_locale,
        args.p_preferences === null ? null : JSON.stringify(args.p_preferences),
      ]);
      return toProfileOutcome(learnerId, row);
    },
    // Concurrent updates share one transaction (progress-batcher.server.ts): one commit for many.
    recordProgress: (learnerId, _token, update) => recordProgressBatched(db, learnerId, update),
  };
}
