/** Every URL the UI links to, built in one place. */
export const paths = {
  overview: () => '/',
  jobs: () => '/jobs',
  job: (id: string) => `/jobs/${id}`,
  submit: () => '/submit',
  batches: () => '/batches',
  batch: (id: string) => `/batches/${id}`,
  chapter: (id: string) => `/chapters/${id}`,
  routing: () => '/routing',
  costs: () => '/costs',
  latency: () => '/latency',
  worker: () => '/worker',
  signIn: (redirectTo?: string) => (redirectTo ? `/sign-in?redirectTo=${encodeURIComponent(redirectTo)}` : '/sign-in'),
  signOut: () => '/sign-out',
  adminStaff: () => '/admin/staff',
  adminTokens: () => '/admin/tokens',
  health: () => '/healthz',
};
