/**
 * Splits an instance's busy time among the jobs it runs at once, so compute is charged once per
 * instance-second however many jobs share it (ADR 0013). With one job at a time a job's share is
 * its busy time; with two overlapping for 10 s, each is charged 5 s for that stretch.
 *
 * Pure (the clock is injected), so the worker and tests share it.
 */
export class ComputeMeter {
  private readonly shares = new Map<string, number>();
  private last: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.last = now();
  }

  /** Brings every running job's share up to now. */
  private advance() {
    const at = this.now();
    const elapsed = at - this.last;
    this.last = at;
    if (this.shares.size === 0 || elapsed <= 0) return;
    const each = elapsed / this.shares.size;
    for (const [id, share] of this.shares) this.shares.set(id, share + each);
  }

  start(jobId: string): void {
    this.advance();
    this.shares.set(jobId, 0);
  }

  /** The job's share of instance time so far, in ms. */
  shareMs(jobId: string): number {
    this.advance();
    return this.shares.get(jobId) ?? 0;
  }

  /** Stops metering the job and returns its final share, in ms. */
  stop(jobId: string): number {
    const share = this.shareMs(jobId);
    this.shares.delete(jobId);
    return share;
  }
}
