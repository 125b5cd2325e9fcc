/** A Message Batches submission as pages show it (ADR 0020); presenters/provider-batches.server.ts fills it. */
export interface ProviderBatchView {
  id: string;
  provider: 'anthropic' | 'offline';
  providerBatchId: string | null;
  status: string;
  requests: number;
  /** How many of the shown jobs are in it. */
  jobs: number;
  counts: { processing: number; succeeded: number; errored: number; canceled: number; expired: number };
  submittedAt: string | null;
  /** From submission to its end (or to now while it runs). */
  timeInBatchMs: number | null;
  savingMicros: number;
  cancelRequested: boolean;
  lastError: string | null;
}
