/** Every URL the UI links to, built in one place. */
export const paths = {
  overview: () => '/',
  jobs: () => '/jobs',
  job: (id: string) => `/jobs/${id}`,
  batches: () => '/batches',
  batch: (id: string) => `/batches/${id}`,
  routing: () => '/routing',
  costs: () => '/costs',
  worker: () => '/worker',
  health: () => '/healthz',
};
