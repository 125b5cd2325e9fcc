import { isGenerationError, type ChapterGenerator } from '~/domain/generation';

import type { Database, Queryable } from './db/port.server';
import type { Logger } from './log.server';

/**
 * Scaling the worker fleet through wake-ups (ADR 0016). Cloud Run with containerConcurrency 1
 * starts one instance per request held open, so the app scales the fleet by how many wake-ups
 * it keeps in flight: desired = min(runnable jobs, max instances, back-pressure limit), and
 * each reconcile sends (desired − open) more, in parallel. The reservation is one SQL call under
 * a row lock, so several app instances together never exceed the maximum.
 */

/** Provider answers that mean "slow down": rate limited (429) and overloaded (529). */
export const PRESSURE_CODES = new Set(['rate_limit_error', 'overloaded_error']);

export interface Reservation {
  desired: number;
  openBefore: number;
  /** The back-pressure limit now, or null when there is none. */
  pressureLimit: number | null;
  wakeupIds: string[];
}

export async function reserveWakeUps(
  db: Queryable,
  sender: string,
  maxInstances: number,
  pickupSeconds: number,
): Promise<Reservation> {
  const [row] = await db.query<{
    desired: number;
    open_before: number;
    pressure_limit: number | null;
    wakeup_ids: string[];
  }>('select * from public.reserve_wakeups($1, $2, $3)', [sender, maxInstances, pickupSeconds]);
  return {
    desired: row.desired,
    openBefore: row.open_before,
    pressureLimit: row.pressure_limit,
    wakeupIds: row.wakeup_ids,
  };
}

/** The worker took the wake-up; false when it is unknown or already finished. */
export async function pickUpWakeUp(db: Queryable, wakeupId: string, workerId: string, budgetSeconds: number) {
  const [row] = await db.query<{ picked: boolean | null }>('select public.pick_up_wakeup($1, $2, $3) as picked', [
    wakeupId,
    workerId,
    budgetSeconds,
  ]);
  return row.picked === true;
}

export type WakeUpOutcome = 'drained' | 'stepped_down' | 'refused' | 'failed';

export async function finishWakeUp(db: Queryable, wakeupId: string, outcome: WakeUpOutcome, processed: number) {
  await db.query('select public.finish_wakeup($1, $2, $3)', [wakeupId, outcome, processed]);
}

export async function wakeUpMayContinue(db: Queryable, wakeupId: string): Promise<boolean> {
  const [row] = await db.query<{ ok: boolean }>('select public.wakeup_may_continue($1) as ok', [wakeupId]);
  return row.ok;
}

/** Records a 429/529 the provider kept answering; returns the limit the fleet steps down to. */
export async function recordFleetPressure(db: Queryable, code: string): Promise<number | null> {
  const [row] = await db.query<{ limit: number | null }>('select public.record_fleet_pressure($1) as limit', [code]);
  return row.limit;
}

/**
 * The generator, reporting a rate limit or overload that outlasted the SDK's own retries as
 * fleet back-pressure (the job itself fails its attempt and is retried by its policy, as before).
 */
export function reportingPressure(generator: ChapterGenerator, db: Database, log: Logger): ChapterGenerator {
  return {
    name: generator.name,
    async generate(request, hooks) {
      try {
        return await generator.generate(request, hooks);
      } catch (error) {
        if (isGenerationError(error) && PRESSURE_CODES.has(error.code)) {
          const limit = await recordFleetPressure(db, error.code).catch(() => null);
          log.warn('provider back-pressure: the fleet steps down', { code: error.code, limit });
        }
        throw error;
      }
    },
  };
}

/** Sends one wake-up; resolves when its request has ended (the worker drained, or it failed). */
export type SendWakeUp = (wakeupId: string) => Promise<{ outcome: WakeUpOutcome | 'held'; processed: number }>;

export interface FleetOptions {
  db: Database;
  /** Names this app instance in worker_wakeups.sent_by. */
  sender: string;
  /** The fleet's max instances: configuration, or the Cloud Run service's maxInstanceCount. */
  maxInstances: () => Promise<number>;
  /** How long a sent wake-up may take to reach a worker (cold start included) before it is lost. */
  pickupSeconds: number;
  send: SendWakeUp;
  log: Logger;
}

export interface FleetDispatch extends Reservation {
  maxInstances: number;
}

export interface Fleet {
  /**
   * Sends the wake-ups this moment needs (after a submit, on every sweep). Calls that come while
   * one runs share a single follow-up pass. Never rejects: waking is only a nudge.
   */
  reconcile(): Promise<FleetDispatch | null>;
  /** The fleet's max instances now (configuration, or the Cloud Run service). */
  maxInstances(): Promise<number>;
  /** Wake-ups this process has sent whose requests have not ended. */
  readonly holding: number;
}

export function createFleet(options: FleetOptions): Fleet {
  let running: Promise<FleetDispatch | null> | null = null;
  let again = false;
  let holding = 0;

  function dispatch(wakeupId: string) {
    holding += 1;
    void options
      .send(wakeupId)
      .then(async ({ outcome, processed }) => {
        // The worker finishes its own wake-up; this closes the ones it never took.
        if (outcome !== 'held') await finishWakeUp(options.db, wakeupId, outcome, processed);
      })
      .catch((error) => options.log.warn('wake-up bookkeeping failed', { error: String(error) }))
      .finally(() => {
        holding -= 1;
      });
  }

  async function once(): Promise<FleetDispatch | null> {
    try {
      const maxInstances = await options.maxInstances();
      const reservation = await reserveWakeUps(options.db, options.sender, maxInstances, options.pickupSeconds);
      for (const id of reservation.wakeupIds) dispatch(id);
      return { ...reservation, maxInstances };
    } catch (error) {
      options.log.warn('fleet reconcile failed; the next sweep tries again', { error: String(error) });
      return null;
    }
  }

  function reconcile(): Promise<FleetDispatch | null> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let result = await once();
      while (again) {
        again = false;
        result = await once();
      }
      return result;
    })().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    reconcile,
    maxInstances: options.maxInstances,
    get holding() {
      return holding;
    },
  };
}

/** The maximum from the Cloud Run service when it can be read, cached, else the configured one. */
export function maxInstancesSource(
  configured: number,
  readServiceMax: (() => Promise<number | null>) | null,
  cacheMs = 60_000,
): () => Promise<number> {
  let cached: { value: number; at: number } | null = null;
  return async () => {
    if (!readServiceMax) return configured;
    if (cached && Date.now() - cached.at < cacheMs) return cached.value;
    const value = (await readServiceMax().catch(() => null)) ?? configured;
    cached = { value, at: Date.now() };
    return value;
  };
}

export interface FleetStatus {
  maxInstances: number;
  desired: number;
  runnable: number;
  inFlight: number;
  pickedUp: number;
  pressure: {
    limit: number | null;
    since: Date | null;
    events: number;
    lastCode: string | null;
    recoverStepSeconds: number;
  };
  recent: { sent: number; refused: number; failed: number; steppedDown: number };
}

/** What the Worker page shows: desired vs in flight, and the back-pressure state. */
export async function presentFleet(db: Queryable, maxInstances: number): Promise<FleetStatus> {
  const [row] = await db.query<{
    runnable: number;
    in_flight: number;
    picked_up: number;
    pressure_limit: number | null;
    pressure_at: Date | null;
    pressure_events: number;
    last_pressure_code: string | null;
    recover_step_seconds: number;
    sent: number;
    refused: number;
    failed: number;
    stepped_down: number;
  }>(
    `select
       (select count(*)::int from (
          select 1 from public.chapter_content_jobs
          where status = 'pending' and run_after <= now() and destination = 'cloud' limit $1) r) as runnable,
       public.open_wakeup_count() as in_flight,
       (select count(*)::int from public.worker_wakeups
         where finished_at is null and expires_at > now() and picked_up_at is not null) as picked_up,
       public.fleet_pressure_limit() as pressure_limit,
       f.pressure_at, f.pressure_events, f.last_pressure_code, f.recover_step_seconds,
       w.sent, w.refused, w.failed, w.stepped_down
     from public.fleet_state f,
       lateral (select count(*)::int as sent,
                  count(*) filter (where outcome = 'refused')::int as refused,
                  count(*) filter (where outcome = 'failed')::int as failed,
                  count(*) filter (where outcome = 'stepped_down')::int as stepped_down
                from public.worker_wakeups where sent_at > now() - interval '1 hour') w`,
    [maxInstances],
  );
  const limit = row.pressure_limit !== null && row.pressure_limit < maxInstances ? row.pressure_limit : null;
  return {
    maxInstances,
    desired: Math.min(row.runnable, maxInstances, limit ?? maxInstances),
    runnable: row.runnable,
    inFlight: row.in_flight,
    pickedUp: row.picked_up,
    pressure: {
      limit,
      since: limit === null ? null : row.pressure_at,
      events: row.pressure_events,
      lastCode: row.last_pressure_code,
      recoverStepSeconds: row.recover_step_seconds,
    },
    recent: { sent: row.sent, refused: row.refused, failed: row.failed, steppedDown: row.stepped_down },
  };
}
