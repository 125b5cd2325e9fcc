/**
 * The job state machine. Only the queue functions in supabase/migrations change a job's
 * status; these predicates let the UI and services ask about one.
 *
 *   pending ──claim──► running ──► succeeded
 *      ▲                 │  └────► failed
 *      └── retry/lease ──┘  └────► cancelled
 *   pending ──cancel──► cancelled
 */
export const JOB_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const DESTINATIONS = ['edge', 'cloud', 'batch'] as const;
export type Destination = (typeof DESTINATIONS)[number];

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export function isJobStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value);
}

export function isFinal(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

export function isCancellable(status: JobStatus): boolean {
  return status === 'pending' || status === 'running';
}

export function isRetryable(status: JobStatus): boolean {
  return status === 'failed' || status === 'cancelled';
}
