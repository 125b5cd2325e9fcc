import {
  StartRolloutSchema,
  rolloutVariant,
  type RolloutPlan,
  type Metric,
  type RolloutState,
  type Variant,
} from '~/domain/rollout';
import type { VariantSample } from '~/domain/rollout-analysis';
import { fieldErrors } from '~/domain/input';

import { audit } from '../audit.server';
import type { Database, Queryable } from '../db/port.server';
import { createLogger } from '../log.server';
import { refreshingCache } from '../refreshing-cache.server';
import { latestPublished } from '../routing-config.server';

/**
 * Rollouts (ADR 0018): start and abort them, and the live ones the router honours. The analysis
 * that moves them along lives in rollout-analysis.server.ts.
 */

export interface Rollout {
  id: string;
  ruleId: string;
  baseline: Variant;
  candidate: Variant;
  plan: RolloutPlan;
  state: RolloutState;
  stepIndex: number;
  weight: number;
  failures: number;
  stepStartedAt: Date;
  nextAnalysisAt: Date;
  lastAnalysis: Record<string, unknown> | null;
  outcome: Record<string, unknown> | null;
  startedBy: string;
  startedAt: Date;
  finishedAt: Date | null;
}

interface RolloutRow {
  id: string;
  rule_id: string;
  baseline: Variant;
  candidate: Variant;
  plan: RolloutPlan;
  state: RolloutState;
  step_index: number;
  weight: string | number;
  failures: number;
  step_started_at: Date;
  next_analysis_at: Date;
  last_analysis: Record<string, unknown> | null;
  outcome: Record<string, unknown> | null;
  started_by: string;
  started_at: Date;
  finished_at: Date | null;
}

export function rolloutFromRow(row: RolloutRow): Rollout {
  return {
    id: row.id,
    ruleId: row.rule_id,
    baseline: row.baseline,
    candidate: row.candidate,
    plan: row.plan,
    state: row.state,
    stepIndex: row.step_index,
    weight: Number(row.weight),
    failures: row.failures,
    stepStartedAt: row.step_started_at,
    nextAnalysisAt: row.next_analysis_at,
    lastAnalysis: row.last_analysis,
    outcome: row.outcome,
    startedBy: row.started_by,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export async function recordRolloutEvent(
  db: Queryable,
  rolloutId: string,
  event: string,
  actor: string,
  weight: number,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await db.query(
    'insert into public.rollout_events (rollout_id, event, actor, weight, detail) values ($1, $2, $3, $4, $5)',
    [rolloutId, event, actor, weight, detail],
  );
}

/** Running and paused rollouts, by rule id: what the router consults on every submission. */
async function liveRollouts(db: Queryable): Promise<Map<string, Rollout>> {
  const rows = await db.query<RolloutRow>(`select * from public.rollouts where state in ('running', 'paused')`);
  return new Map(rows.map((row) => [row.rule_id, rolloutFromRow(row)]));
}

const log = createLogger({ component: 'rollouts' });

const cachedRollouts = refreshingCache({
  keyOf: (db: Database) => db,
  read: liveRollouts,
  freshMs: 1000,
  staleMs: 5000,
  onRefreshError: (error) =>
    log.warn('the live rollouts could not be read; the last ones read are served', { error: error.message }),
});

/**
 * `liveRollouts` as the router reads it on every submission: kept for a second per process like
 * the routing config it belongs to (ADR 0024), instead of a read per request. A start, abort,
 * pause, resume or analysis step made in this process is seen at once (it forgets the cached
 * value); one made by another process (the sweeper on Vercel Cron, another instance) within
 * about a second, as a publish of the routing config is.
 */
export function routedLiveRollouts(db: Database): Promise<Map<string, Rollout>> {
  return cachedRollouts.get(db);
}

/** After a change to a rollout's state or weight: the next submission reads them again. */
export function forgetLiveRollouts(db: Database): void {
  cachedRollouts.forget(db);
}

export async function listRollouts(db: Queryable, limit = 20): Promise<Rollout[]> {
  const rows = await db.query<RolloutRow>('select * from public.rollouts order by started_at desc limit $1', [limit]);
  return rows.map(rolloutFromRow);
}

export interface RolloutEvent {
  id: number;
  occurredAt: Date;
  event: string;
  actor: string;
  weight: number;
  detail: Record<string, unknown>;
}

export async function rolloutEvents(db: Queryable, rolloutId: string): Promise<RolloutEvent[]> {
  const rows = await db.query<{
    id: number | string;
    occurred_at: Date;
    event: string;
    actor: string;
    weight: string | number;
    detail: Record<string, unknown>;
  }>('select * from public.rollout_events where rollout_id = $1 order by id', [rolloutId]);
  return rows.map((row) => ({
    id: Number(row.id),
    occurredAt: row.occurred_at,
    event: row.event,
    actor: row.actor,
    weight: Number(row.weight),
    detail: row.detail,
  }));
}

/** One analysis of a rollout as its charts draw it: both sides' figures, at the weight of the time. */
export interface RolloutTrendPoint {
  analysis: number;
  weight: number;
  baseline: Partial<Record<Metric, number | null>>;
  candidate: Partial<Record<Metric, number | null>>;
}

/** A rollout's analyses in order (the last `limit`), from the figures each decision recorded. */
export async function rolloutTrend(db: Queryable, rolloutId: string, limit = 48): Promise<RolloutTrendPoint[]> {
  const rows = await db.query<{ weight: string | number; baseline: VariantSample; candidate: VariantSample }>(
    `select weight, baseline, candidate from (
       select id, weight, detail -> 'baseline' as baseline, detail -> 'candidate' as candidate
       from public.rollout_events
       where rollout_id = $1 and detail ? 'verdict'
       order by id desc limit $2
     ) recent order by id`,
    [rolloutId, limit],
  );
  return rows.map((row, index) => ({
    analysis: index + 1,
    weight: Number(row.weight),
    baseline: row.baseline.metrics ?? {},
    candidate: row.candidate.metrics ?? {},
  }));
}

/** What a job of a rule under a live rollout runs with, and which side it is on. */
export interface RolloutAssignment {
  rolloutId: string;
  variant: 'baseline' | 'candidate';
  target: Variant;
}

export function assignVariant(rollout: Rollout, chapterId: string): RolloutAssignment {
  const variant = rolloutVariant(rollout.id, chapterId, rollout.weight);
  return { rolloutId: rollout.id, variant, target: variant === 'candidate' ? rollout.candidate : rollout.baseline };
}

export type StartRolloutResult =
  | { ok: true; rollout: Rollout }
  | { ok: false; kind: 'invalid'; message: string; fields: Record<string, string[]> }
  | { ok: false; kind: 'conflict'; message: string; fields: Record<string, string[]> };

const UNIQUE_VIOLATION = '23505';

/**
 * Starting a rollout on one rule of the live config: the plan and both variants are validated
 * (steps increasing, weights 0–100, thresholds that can be evaluated, models with prices, a
 * candidate that differs from the baseline); a second live rollout on the same rule is refused.
 * The first step's weight applies at once; the first analysis is one interval later.
 */
export async function startRollout(db: Database, actor: string, input: unknown): Promise<StartRolloutResult> {
  const parsed = StartRolloutSchema.safeParse(input);
  if (!parsed.success)
    return {
      ok: false,
      kind: 'invalid',
      message: 'The rollout was not started: fix the highlighted fields.',
      fields: fieldErrors(parsed.error),
    };
  const { ruleId, baseline, candidate, plan } = parsed.data;
  const live = await latestPublished(db);
  if (!live.config.rules.some((rule) => rule.id === ruleId))
    return {
      ok: false,
      kind: 'invalid',
      message: `The live config has no rule "${ruleId}".`,
      fields: { ruleId: [`no rule "${ruleId}" in the live config`] },
    };
  try {
    const rollout = await db.transaction(async (tx) => {
      const [row] = await tx.query<RolloutRow>(
        `insert into public.rollouts (rule_id, baseline, candidate, plan, weight, next_analysis_at, started_by)
         values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7)
         returning *`,
        [ruleId, baseline, candidate, plan, plan.steps[0], plan.intervalSeconds, actor],
      );
      await recordRolloutEvent(tx, row.id, 'started', actor, plan.steps[0], { baseline, candidate, plan });
      await audit(tx, {
        actor,
        action: 'rollout.start',
        targetType: 'rollout',
        targetId: row.id,
        detail: { ruleId, baseline, candidate, plan },
      });
      return rolloutFromRow(row);
    });
    forgetLiveRollouts(db);
    return { ok: true, rollout };
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION)
      return {
        ok: false,
        kind: 'conflict',
        message: `Rule "${ruleId}" already has a rollout in progress: abort it or let it finish first.`,
        fields: { ruleId: ['already has a rollout in progress'] },
      };
    throw error;
  }
}

export type RolloutActionResult =
  { ok: true; rollout: Rollout; message: string } | { ok: false; kind: 'not_found' | 'finished'; message: string };

/** Aborting by hand: the candidate's weight goes to 0 at once and the rule keeps its baseline. */
export async function abortRollout(
  db: Database,
  actor: string,
  rolloutId: string,
  reason: string,
): Promise<RolloutActionResult> {
  const result = await db.transaction(async (tx): Promise<RolloutActionResult> => {
    const [row] = await tx.query<RolloutRow>('select * from public.rollouts where id = $1 for update', [rolloutId]);
    if (!row) return { ok: false, kind: 'not_found', message: 'There is no such rollout.' };
    if (row.state !== 'running' && row.state !== 'paused')
      return { ok: false, kind: 'finished', message: `This rollout has already ended (${row.state}).` };
    const [updated] = await tx.query<RolloutRow>(
      `update public.rollouts set state = 'aborted', weight = 0, finished_at = now(),
         outcome = jsonb_build_object('reason', $2::text, 'by', $3::text)
       where id = $1 returning *`,
      [rolloutId, reason || 'Aborted by hand', actor],
    );
    await recordRolloutEvent(tx, rolloutId, 'aborted', actor, 0, { reason });
    await audit(tx, {
      actor,
      action: 'rollout.abort',
      targetType: 'rollout',
      targetId: rolloutId,
      detail: { ruleId: row.rule_id, weightBefore: Number(row.weight), reason },
    });
    return {
      ok: true,
      rollout: rolloutFromRow(updated),
      message: 'Rollout aborted: the rule is back on its baseline.',
    };
  });
  if (result.ok) forgetLiveRollouts(db);
  return result;
}
