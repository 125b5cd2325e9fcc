/**
 * What a learner's client may send to the edge routes (`PATCH /api/user/profile`,
 * `POST /api/progress/update`). Strict: an unknown field is refused by name, never ignored.
 */
import { z } from 'zod';

import { safeText } from './input';

const unknownFields = {
  error: (issue: { code: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys' ? `unknown field(s): ${(issue.keys ?? []).join(', ')}` : undefined,
};

export const READING_PACES = ['slow', 'normal', 'fast'] as const;
export const THEMES = ['system', 'light', 'dark'] as const;

export const LearnerPreferencesSchema = z.strictObject(
  {
    reading_pace: z.enum(READING_PACES, { message: 'must be slow, normal or fast' }).optional(),
    theme: z.enum(THEMES, { message: 'must be system, light or dark' }).optional(),
    font_scale: z
      .number({ message: 'must be a number from 0.8 to 1.6' })
      .min(0.8, { message: 'must be from 0.8 to 1.6' })
      .max(1.6, { message: 'must be from 0.8 to 1.6' })
      .optional(),
  },
  unknownFields,
);

export type LearnerPreferences = z.infer<typeof LearnerPreferencesSchema>;

export const ProfilePatchSchema = z
  .strictObject(
    {
      display_name: safeText
        .trim()
        .min(1, { message: 'must not be empty' })
        .max(80, { message: 'must be at most 80 characters' })
        .optional(),
      locale: z
        .string({ message: 'must be a language tag such as en or pt-BR' })
        .regex(/^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$/, {
          message: 'must be a language tag such as en or pt-BR',
        })
        .optional(),
      preferences: LearnerPreferencesSchema.optional(),
    },
    unknownFields,
  )
  .refine((patch) => Object.keys(patch).length > 0, {
    message: 'send at least one of display_name, locale, preferences',
    path: ['body'],
  });

export type ProfilePatch = z.infer<typeof ProfilePatchSchema>;

export const ProgressUpdateSchema = z.strictObject(
  {
    client_event_id: safeText
      .min(1, { message: 'must not be empty' })
      .max(100, { message: 'must be at most 100 characters' }),
    chapter_id: z.uuid({ message: 'must be a chapter id (a UUID)' }),
    chapter_version: z
      .number({ message: 'must be the version of the chapter read (a whole number)' })
      .int({ message: 'must be a whole number' })
      .min(0, { message: 'must be 0 or more' })
      .max(2_147_483_647, { message: 'is too large' })
      .default(0),
    percent: z
      .number({ message: 'must be a number from 0 to 100' })
      .min(0, { message: 'must be from 0 to 100' })
      .max(100, { message: 'must be from 0 to 100' })
      .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-6, {
        message: 'must have at most two decimals',
      }),
    time_spent_seconds: z
      .number({ message: 'must be a whole number of seconds' })
      .int({ message: 'must be a whole number of seconds' })
      .min(0, { message: 'must be 0 or more' })
      .max(86_400, { message: 'must be at most 86400 (one day) per update' })
      .default(0),
    reset: z.boolean({ message: 'must be true or false' }).default(false),
  },
  unknownFields,
);

export type ProgressUpdate = z.infer<typeof ProgressUpdateSchema>;

export interface LearnerProfile {
  learnerId: string;
  displayName: string;
  locale: string;
  preferences: LearnerPreferences;
  /** Null until the learner first changes their profile (the defaults are shown). */
  updatedAt: string | null;
}

export interface LearnerProgress {
  chapterId: string;
  chapterVersion: number;
  percent: number;
  completedAt: string | null;
  timeSpentSeconds: number;
  updatedAt: string;
}

export type ProgressOutcome =
  | { kind: 'applied' | 'replayed'; progress: LearnerProgress }
  | { kind: 'event_reused' }
  | { kind: 'unknown_chapter' }
  | { kind: 'unknown_version'; currentVersion: number }
  | { kind: 'staff_account' };

export type ProfileOutcome = { kind: 'profile'; profile: LearnerProfile } | { kind: 'staff_account' };

/**
 * Where learner data lives, as the edge handlers see it. Production: Supabase over HTTP with the
 * learner's own JWT (RLS applies); `npm start` and tests: the local database.
 */
export interface LearnerStore {
  getProfile(learnerId: string, accessToken: string): Promise<ProfileOutcome>;
  updateProfile(learnerId: string, accessToken: string, patch: ProfilePatch): Promise<ProfileOutcome>;
  recordProgress(learnerId: string, accessToken: string, update: ProgressUpdate): Promise<ProgressOutcome>;
}
