/**
 * Who may do what: the one permission table. Every loader, action and API route asks
 * `can(role, action)` on the server; the UI asks it only to hide what is not allowed.
 */
export const ROLES = ['content_manager', 'ops', 'finance', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  content_manager: 'Content manager',
  ops: 'Ops',
  finance: 'Finance',
  admin: 'Admin',
};

export const ACTIONS = [
  'jobs.view',
  'jobs.submit',
  'jobs.cancel',
  'jobs.retry',
  'chapters.revert',
  'routing.view',
  'routing.edit',
  'routing.publish',
  'worker.operate',
  'costs.view',
  'costs.export',
  'analytics.compute',
  'budgets.edit',
  'staff.manage',
  'tokens.manage',
] as const;
export type Action = (typeof ACTIONS)[number];

const CONTENT: Action[] = ['jobs.view', 'jobs.submit', 'jobs.cancel', 'jobs.retry', 'chapters.revert'];
const OPS: Action[] = [...CONTENT, 'routing.view', 'routing.edit', 'routing.publish', 'worker.operate'];
const FINANCE: Action[] = ['jobs.view', 'costs.view', 'costs.export', 'analytics.compute', 'budgets.edit'];

const GRANTS: Record<Role, ReadonlySet<Action>> = {
  content_manager: new Set(CONTENT),
  ops: new Set(OPS),
  finance: new Set(FINANCE),
  admin: new Set(ACTIONS),
};

export function can(role: Role, action: Action): boolean {
  return GRANTS[role].has(action);
}

/** What an API token may be allowed to do, and the permission each scope stands for. */
export const TOKEN_SCOPES = ['submit', 'read', 'cancel', 'analytics'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** What each scope lets a program do, as Admin → API tokens describes it. */
export const TOKEN_SCOPE_LABELS: Record<TokenScope, string> = {
  submit: 'queue and retry chapter generations',
  read: 'follow jobs and read chapters',
  cancel: 'cancel jobs',
  analytics: 'queue learning analytics (POST /api/analytics/compute)',
};
