/**
 * The staff form's schema. It lives outside `*.server` modules because route modules build on it
 * at module level (`.merge(NewStaffSchema)`): the browser bundle replaces `.server` imports with
 * empty modules, and a schema imported from one is `undefined` there, so the route would not load.
 */
import { z } from 'zod';

import { ROLES } from './permissions';

export const NewStaffSchema = z.object({
  email: z.email({ message: 'Enter a valid email address.' }).transform((email) => email.toLowerCase()),
  displayName: z.string().trim().min(1, { message: 'Enter a name.' }).max(100),
  role: z.enum(ROLES, { message: 'Choose a role.' }),
  // Optional: without one, the member signs in through Supabase Auth (matched by email).
  password: z
    .string()
    .min(12, { message: 'Use at least 12 characters.' })
    .optional()
    .or(z.literal('').transform(() => undefined)),
});

export type NewStaff = z.infer<typeof NewStaffSchema>;
