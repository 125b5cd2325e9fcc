/**
 * Rows of the learner SQL functions (`learner_profile`, `update_learner_profile`,
 * `record_learner_progress`) turned into the port's outcomes; shared by the local database
 * store and the Supabase (PostgREST) store, which read the same functions.
 */
import type { LearnerPreferences, LearnerProgress, ProfileOutcome, ProgressOutcome } from '~/domain/learner-schemas';

export interface ProfileRow {
  is_staff: boolean;
  display_name: string | null;
  locale: string | null;
  preferences: LearnerPreferences | null;
  updated_at: Date | string | null;
}

export interface ProgressRow {
  outcome: string;
  chapter_id: string;
  chapter_version: number | null;
  percent: number | string | null;
  completed_at: Date | string | null;
  time_spent_seconds: number | null;
  updated_at: Date | string | null;
}

const iso = (value: Date | string | null): string | null =>
  value === null ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString();

export function toProfileOutcome(learnerId: string, row: ProfileRow | undefined): ProfileOutcome {
  if (!row) throw new Error('the learner profile function returned no row');
  if (row.is_staff) return { kind: 'staff_account' };
  return {
    kind: 'profile',
    profile: {
      learnerId,
      displayName: row.display_name ?? '',
      locale: row.locale ?? 'en',
      preferences: row.preferences ?? {},
      updatedAt: iso(row.updated_at),
    },
  };
}

export function toProgressOutcome(row: ProgressRow | undefined): ProgressOutcome {
  if (!row) throw new Error('record_learner_progress returned no row');
  if (row.outcome === 'applied' || row.outcome === 'replayed') {
    const progress: LearnerProgress = {
      chapterId: row.chapter_id,
      chapterVersion: Number(row.chapter_version),
      percent: Number(row.percent),
      completedAt: iso(row.completed_at),
      timeSpentSeconds: Number(row.time_spent_seconds),
      updatedAt: iso(row.updated_at)!,
    };
    return { kind: row.outcome, progress };
  }
  if (row.outcome === 'unknown_version')
    return { kind: 'unknown_version', currentVersion: Number(row.chapter_version) };
  if (row.outcome === 'unknown_chapter' || row.outcome === 'event_reused' || row.outcome === 'staff_account')
    return { kind: row.outcome };
  throw new Error(`record_learner_progress returned an unknown outcome "${row.outcome}"`);
}

/** The arguments of `record_learner_progress`, in order, named as PostgREST wants them. */
export function progressArguments(learnerId: string, update: import('~/domain/learner-schemas').ProgressUpdate) {
  return {
    p_learner_id: learnerId,
    p_chapter_id: update.chapter_id,
    p_client_event_id: update.client_event_id,
    p_chapter_version: update.chapter_version,
    p_percent: update.percent,
    p_time_spent_seconds: update.time_spent_seconds,
    p_reset: update.reset,
  };
}

export function profileArguments(learnerId: string, patch: import('~/domain/learner-schemas').ProfilePatch) {
  return {
    p_learner_id: learnerId,
    p_display_name: patch.display_name ?? null,
    p_locale: patch.locale ?? null,
    p_preferences: patch.preferences ?? null,
  };
}
