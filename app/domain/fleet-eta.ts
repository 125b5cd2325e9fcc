/**
 * A batch's ETA from the fleet as it is now: its unfinished jobs run in waves of the fleet's
 * size, each wave as long as a chapter takes. Pure, so the page and the tests share it.
 */
export interface FleetEtaInput {
  /** Pending and running jobs of the batch. */
  remaining: number;
  /** Instances working now (workers on a job, or wake-ups in flight), at least the ones on this batch. */
  fleetSize: number;
  /** The fleet's maximum: what it scales out to while the batch has work for it. */
  maxInstances: number;
  /** How long one chapter takes, from this batch's finished jobs or recent ones; null if none yet. */
  secondsPerJob: number | null;
}

export type FleetEta =
  | { kind: 'done' }
  | { kind: 'unknown'; reason: 'no_timing' }
  | { kind: 'estimate'; seconds: number; instances: number; scalingOut: boolean };

export function fleetEta(input: FleetEtaInput): FleetEta {
  if (input.remaining <= 0) return { kind: 'done' };
  if (input.secondsPerJob === null) return { kind: 'unknown', reason: 'no_timing' };
  // With no instance up yet, the wake-ups already sent start min(remaining, max) of them.
  const scalingOut = input.fleetSize < Math.min(input.remaining, input.maxInstances);
  const instances = Math.max(1, scalingOut ? Math.min(input.remaining, input.maxInstances) : input.fleetSize);
  const waves = Math.ceil(input.remaining / instances);
  return { kind: 'estimate', seconds: Math.round(waves * input.secondsPerJob), instances, scalingOut };
}

export function describeFleetEta(eta: FleetEta): string {
  if (eta.kind === 'done') return 'done';
  if (eta.kind === 'unknown') return 'unknown until a chapter has finished';
  const time = eta.seconds < 60 ? `about ${eta.seconds} s` : `about ${Math.round(eta.seconds / 60)} min`;
  return `${time} on ${eta.instances} instance${eta.instances === 1 ? '' : 's'}${eta.scalingOut ? ' (scaling out)' : ''}`;
}
