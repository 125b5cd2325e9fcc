import type { LearnerStore } from '~/domain/learner-schemas';
import {
  profileArguments,
  progressArguments,
  toProfileOutcome,
  toProgressOutcome,
  type ProfileRow,
  type ProgressRow,
} from '~/edge/learner-rows';

import type { Queryable } from './db/port.server';

/**
 * The learner port on the local database (`npm start`, tests, a deployment next to
 * PostgreSQL). The server has verified the learner's JWT; each operation is one call of the SQL
 * function a learner's own Supabase client would call (`app/edge/supabase-learner-store.ts`).
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
    async recordProgress(learnerId, _token, update) {
      const args = progressArguments(learnerId, update);
      const [row] = await db.query<ProgressRow>(
        'select * from public.record_learner_progress($1, $2, $3, $4, $5, $6, $7)',
        Object.values(args),
      );
      return toProgressOutcome(row);
    },
  };
}
