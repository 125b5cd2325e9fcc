import { ACTIONS, can, ROLES, type Action, type Role } from './permissions';

describe('can(role, action)', () => {
  const expected: Record<Role, Action[]> = {
    content_manager: ['jobs.view', 'jobs.submit', 'jobs.cancel', 'jobs.retry', 'chapters.revert'],
    ops: [
      'jobs.view',
      'jobs.submit',
      'jobs.cancel',
      'jobs.retry',
      'chapters.revert',
      'routing.view',
      'routing.edit',
      'routing.publish',
      'worker.operate',
    ],
    finance: ['jobs.view', 'costs.view', 'costs.export', 'analytics.compute', 'budgets.edit'],
    admin: [...ACTIONS],
  };

  it.each(ROLES)('grants %s exactly its actions', (role) => {
    expect(ACTIONS.filter((action) => can(role, action))).toEqual(expected[role]);
  });
});
