import { METRICS, type Metric, type Variant } from '~/domain/rollout';
import {
  analyseRollout,
  decideRollout,
  describeCheck,
  type RolloutDecision,
  type VariantSample,
  type Verdict,
} from '~/domain/rollout-analysis';

import { audit } from '../audit.server';
import type { Queryable } from '../db/port.server';
import { createLogger, type Logger } from '../log.server';
import { latestPublished } from '../routing-config.server';
import type { Runtime } from '../runtime.server';
import { publishRoutingVersion, saveRoutingVersion } from './routing-control.server';
import {
  abortRollout,
  forgetLiveRollouts,
  recordRolloutEvent,
  rolloutFromRow,
  type Rollout,
  type RolloutActionResult,
} from './rollout.server';

/**
 * The sweeper's rollout step (ADR 0018): every running rollout whose interval is up is analysed
 * once — candidate against baseline over the same window, from chapter_content_jobs — and steps
 * up, holds, waits, promotes or rolls back. One advisory lock per sweep, so several app
 * instances sweeping at once make one decision; each decision is a rollout_events row.
 */

/** Serialises rollout analysis between concurrent sweeps (an arbitrary constant). */
const ROLLOUT_LOCK = 7_420_170;

/** Final error codes that mean 429 (rate limit) or 529 (overloaded) from the model API. */
const OVERLOAD_CODES = ['rate_limit_error', 'overloaded_error', 'overloaded', 'rate_limited', '429', '529'];

export const SYSTEM_ACTOR = 'rollout-analysis';

interface SampleRow {
  variant: 'baseline' | 'candidate';
  finished: number;
  succeeded: number;
  p95_latency_ms: number | null;
  p95_ttft_ms: number | null;
  cost_micros: string | number | null;
  output_tokens: number | null;
  overloaded: number;
  max_tokens: number;
}

const emptySample = (): VariantSample => ({
  finished: 0,
  succeeded: 0,
  metrics: Object.fromEntries(METRICS.map((metric) => [metric, null])) as Record<Metric, number | null>,
});

/**
 * Both variants' figures in one statement over the rollout's partial index: the candidate's jobs
 * that finished since `candidateFrom`, the baseline's since `baselineFrom` (the same window,
 * except at 100 %: see analyseOne). End-to-end latency is created → finished; TTFT is the latest attempt's start →
 * first token; cost per successful chapter counts the failed jobs' spend too.
 */
export async function variantSamples(
  db: Queryable,
  rolloutId: string,
  candidateFrom: Date,
  baselineFrom: Date,
  until: Date,
): Promise<{ baseline: VariantSample; candidate: VariantSample }> {
  const rows = await db.query<SampleRow>(
    `select variant,
       count(*)::integer as finished,
       (count(*) filter (where status = 'succeeded'))::integer as succeeded,
       (percentile_cont(0.95) within group (order by extract(epoch from finished_at - created_at) * 1000)
         filter (where status = 'succeeded'))::float8 as p95_latency_ms,
       (percentile_cont(0.95) within group (order by extract(epoch from first_token_at - started_at) * 1000)
         filter (where status = 'succeeded' and first_token_at is not null and started_at is not null))::float8 as p95_ttft_ms,
       sum(cost_total_micros) as cost_micros,
       (avg(output_tokens) filter (where status = 'succeeded'))::float8 as output_tokens,
       (count(*) filter (where error_code = any($5::text[])))::integer as overloaded,
       (count(*) filter (where stop_reason = 'max_tokens'))::integer as max_tokens
     from public.chapter_content_jobs
     where rollout_id = $1
       and finished_at >= least($2::timestamptz, $3::timestamptz) and finished_at < $4
       and status in ('succeeded', 'failed')
       and variant is not null
       and finished_at >= case when variant = 'candidate' then $2::timestamptz else $3::timestamptz end
     group by variant`,
    [rolloutId, candidateFrom, baselineFrom, until, OVERLOAD_CODES],
  );
  const result = { baseline: emptySample(), candidate: emptySample() };
  for (const row of rows) {
    const percent = (n: number) => (row.finished > 0 ? (100 * n) / row.finished : null);
    result[row.variant] = {
      finished: row.finished,
      succeeded: row.succeeded,
      metrics: {
        success_rate: percent(row.succeeded),
        p95_latency_ms: row.p95_latency_ms,
        p95_ttft_ms: row.p95_ttft_ms,
        cost_per_success_micros: row.succeeded > 0 ? Number(row.cost_micros ?? 0) / row.succeeded : null,
        output_tokens_per_chapter: row.output_tokens,
        overload_rate: percent(row.overloaded),
        max_tokens_rate: percent(row.max_tokens),
      },
    };
  }
  return result;
}

export interface RolloutStepResult {
  rolloutId: string;
  ruleId: string;
  verdict: Verdict['kind'];
  decision: RolloutDecision['action'];
  weight: number;
  /** For a rollback: the failed metrics, with their numbers. */
  reason?: string;
  /** For a promotion: the config version that made the candidate the rule's baseline. */
  publishedVersion?: number;
}

/** The analysis as stored on the rollout and its event: figures of both sides and every check. */
function analysisRecord(verdict: Verdict, samples: { baseline: VariantSample; candidate: VariantSample }, at: Date) {
  return { at: at.toISOString(), verdict, baseline: samples.baseline, candidate: samples.candidate };
}

async function analyseOne(tx: Queryable, rollout: Rollout, now: Date, log: Logger): Promise<RolloutStepResult> {
  // The window is the interval since the previous analysis (or the step's start): each analysis
  // needs its own minimum sample, so waiting never adds up small samples into a promotion.
  const lastAt = typeof rollout.lastAnalysis?.at === 'string' ? new Date(rollout.lastAnalysis.at) : null;
  const windowStart = new Date(Math.max(rollout.stepStartedAt.getTime(), lastAt?.getTime() ?? 0));
  // At 100 % no baseline traffic is left: the baseline's figures of the last analysis that had
  // them stand in (read over its whole history since the start only when there is none: that
  // read measured 1.2 s over 500,000 baseline jobs in bench:rollout, the stored one costs nothing).
  const stored = rollout.lastAnalysis?.baseline as VariantSample | undefined;
  const reuse = rollout.weight >= 100 && stored !== undefined && stored.finished > 0;
  const baselineFrom = reuse ? now : rollout.weight >= 100 ? rollout.startedAt : windowStart;
  const samples = await variantSamples(tx, rollout.id, windowStart, baselineFrom, now);
  if (reuse) samples.baseline = stored;
  const verdict = analyseRollout(rollout.plan, samples.baseline, samples.candidate);
  const decision = decideRollout(rollout.plan, rollout.stepIndex, rollout.failures, verdict);
  const analysis = analysisRecord(verdict, samples, now);
  const result: RolloutStepResult = {
    rolloutId: rollout.id,
    ruleId: rollout.ruleId,
    verdict: verdict.kind,
    decision: decision.action,
    weight: rollout.weight,
  };
  const next = `$3::timestamptz + make_interval(secs => ${rollout.plan.intervalSeconds})`;
  switch (decision.action) {
    case 'wait':
      await tx.query(`update public.rollouts set last_analysis = $2, next_analysis_at = ${next} where id = $1`, [
        rollout.id,
        analysis,
        now,
      ]);
      await recordRolloutEvent(tx, rollout.id, 'wait', SYSTEM_ACTOR, rollout.weight, analysis);
      break;
    case 'hold':
      await tx.query(
        `update public.rollouts set last_analysis = $2, failures = $4, next_analysis_at = ${next} where id = $1`,
        [rollout.id, analysis, now, decision.failures],
      );
      await recordRolloutEvent(tx, rollout.id, 'fail', SYSTEM_ACTOR, rollout.weight, analysis);
      break;
    case 'step':
      await tx.query(
        `update public.rollouts set last_analysis = $2, step_index = $4, weight = $5, failures = 0,
           step_started_at = $3, next_analysis_at = ${next} where id = $1`,
        [rollout.id, analysis, now, decision.stepIndex, decision.weight],
      );
      await recordRolloutEvent(tx, rollout.id, 'step', SYSTEM_ACTOR, decision.weight, analysis);
      result.weight = decision.weight;
      break;
    case 'promote':
      await tx.query(
        `update public.rollouts set last_analysis = $2, state = 'promoted', finished_at = $3,
           outcome = jsonb_build_object('result', 'promoted') where id = $1`,
        [rollout.id, analysis, now],
      );
      await recordRolloutEvent(tx, rollout.id, 'promoted', SYSTEM_ACTOR, rollout.weight, analysis);
      await audit(tx, {
        actor: SYSTEM_ACTOR,
        action: 'rollout.promote',
        targetType: 'rollout',
        targetId: rollout.id,
        detail: { ruleId: rollout.ruleId, candidate: rollout.candidate },
      });
      break;
    case 'rollback': {
      const failed = verdict.kind === 'fail' ? verdict.failed : [];
      const reason = failed.map(describeCheck).join('; ');
      await tx.query(
        `update public.rollouts set last_analysis = $2, state = 'rolled_back', weight = 0, failures = $4,
           finished_at = $3, outcome = jsonb_build_object('result', 'rolled_back', 'reason', $5::text, 'failed', $6::jsonb)
         where id = $1`,
        [rollout.id, analysis, now, decision.failures, reason, JSON.stringify(failed)],
      );
      await recordRolloutEvent(tx, rollout.id, 'rolled_back', SYSTEM_ACTOR, 0, { ...analysis, reason });
      await audit(tx, {
        actor: SYSTEM_ACTOR,
        action: 'rollout.rollback',
        targetType: 'rollout',
        targetId: rollout.id,
        detail: { ruleId: rollout.ruleId, weightBefore: rollout.weight, reason, failed },
      });
      // The alert: a row the sweep posts once to ALERT_WEBHOOK_URL (as spend alerts are), a log
      // line, and the banner on the Routing page.
      await tx.query(
        `insert into public.spend_alerts (kind, dedupe_key, message) values ('rollout_rolled_back', $1, $2)
         on conflict (dedupe_key) do nothing`,
        [
          `rollout_rolled_back:${rollout.id}`,
          `Rollout on rule "${rollout.ruleId}" rolled back automatically: ${reason}`,
        ],
      );
      log.warn('Rollout rolled back automatically', { rolloutId: rollout.id, ruleId: rollout.ruleId, reason });
      result.weight = 0;
      result.reason = reason;
      break;
    }
  }
  return result;
}

/** Makes the candidate the rule's target in a new published config version, so revert still works. */
async function publishPromotion(
  runtime: Pick<Runtime, 'db' | 'edgeConfig'>,
  rolloutId: string,
  ruleId: string,
  candidate: Variant,
): Promise<number | null> {
  const live = await latestPublished(runtime.db);
  const config = {
    ...live.config,
    rules: live.config.rules.map((rule) =>
      rule.id === ruleId
        ? { ...rule, destination: candidate.destination, model: candidate.model, maxTokens: candidate.maxTokens }
        : rule,
    ),
  };
  const saved = await saveRoutingVersion(
    runtime.db,
    SYSTEM_ACTOR,
    config,
    `Rollout ${rolloutId.slice(0, 8)} promoted: rule ${ruleId} now runs ${candidate.model} (${candidate.maxTokens} tokens, ${candidate.destination})`,
    { diffAgainst: live.version },
  );
  const published = saved.ok ? await publishRoutingVersion(runtime, SYSTEM_ACTOR, saved.version) : null;
  const version = saved.ok && published?.ok ? saved.version : null;
  await recordRolloutEvent(runtime.db, rolloutId, version ? 'published' : 'publish_failed', SYSTEM_ACTOR, 100, {
    version,
    message: published?.message ?? (saved.ok ? null : 'The live config with the candidate does not validate.'),
  });
  return version;
}

/**
 * One rollout step of the sweeper. Returns what each due rollout did; nothing when another sweep
 * holds the lock (it is making those decisions).
 */
export async function analyseRollouts(
  runtime: Pick<Runtime, 'db' | 'edgeConfig'>,
  log: Logger = createLogger({ component: 'rollouts' }),
): Promise<RolloutStepResult[]> {
  const decided = await runtime.db.transaction(async (tx) => {
    const [lock] = await tx.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1) as locked', [
      ROLLOUT_LOCK,
    ]);
    if (!lock.locked) return [];
    const [{ now }] = await tx.query<{ now: Date }>('select now() as now');
    const due = await tx.query<Parameters<typeof rolloutFromRow>[0]>(
      `select * from public.rollouts where state = 'running' and next_analysis_at <= now() order by started_at for update`,
    );
    const results: { result: RolloutStepResult; rollout: Rollout }[] = [];
    for (const row of due) {
      const rollout = rolloutFromRow(row);
      results.push({ result: await analyseOne(tx, rollout, now, log), rollout });
    }
    return results;
  });
  if (decided.length > 0) forgetLiveRollouts(runtime.db);
  for (const { result, rollout } of decided) {
    if (result.decision !== 'promote') continue;
    const version = await publishPromotion(runtime, rollout.id, rollout.ruleId, rollout.candidate);
    if (version) result.publishedVersion = version;
    else log.error('Promoted rollout could not publish its config version', { rolloutId: rollout.id });
  }
  return decided.map(({ result }) => result);
}

export type RolloutControl = 'pause' | 'resume' | 'promote' | 'abort';

/**
 * Ops' hands on a live rollout (audited): pause (the weight holds, no analysis), resume (the
 * next analysis one interval from now), promote now (as the analysis would, skipping the rest
 * of the plan), or abort (weight 0, the rule keeps its baseline).
 */
export async function controlRollout(
  runtime: Pick<Runtime, 'db' | 'edgeConfig'>,
  actor: string,
  rolloutId: string,
  control: RolloutControl,
): Promise<RolloutActionResult> {
  if (control === 'abort') return abortRollout(runtime.db, actor, rolloutId, 'Aborted by hand');
  const changed = await runtime.db.transaction(async (tx): Promise<RolloutActionResult> => {
    const [row] = await tx.query<Parameters<typeof rolloutFromRow>[0]>(
      'select * from public.rollouts where id = $1 for update',
      [rolloutId],
    );
    if (!row) return { ok: false, kind: 'not_found', message: 'There is no such rollout.' };
    const expected = control === 'resume' ? 'paused' : control === 'pause' ? 'running' : null;
    if ((expected && row.state !== expected) || (!expected && row.state !== 'running' && row.state !== 'paused'))
      return {
        ok: false,
        kind: 'finished',
        message: `This rollout is ${row.state.replace('_', ' ')}: nothing to ${control}.`,
      };
    const [updated] = await tx.query<Parameters<typeof rolloutFromRow>[0]>(
      control === 'pause'
        ? `update public.rollouts set state = 'paused' where id = $1 returning *`
        : control === 'resume'
          ? `update public.rollouts set state = 'running',
               next_analysis_at = now() + make_interval(secs => (plan ->> 'intervalSeconds')::integer) where id = $1 returning *`
          : `update public.rollouts set state = 'promoted', finished_at = now(),
               outcome = jsonb_build_object('result', 'promoted', 'by', $2::text) where id = $1 returning *`,
      control === 'promote' ? [rolloutId, actor] : [rolloutId],
    );
    const event = control === 'promote' ? 'promoted' : control === 'pause' ? 'paused' : 'resumed';
    await recordRolloutEvent(tx, rolloutId, event, actor, Number(row.weight));
    await audit(tx, {
      actor,
      action: `rollout.${control}`,
      targetType: 'rollout',
      targetId: rolloutId,
      detail: { ruleId: row.rule_id, weight: Number(row.weight) },
    });
    const messages = {
      pause: 'Rollout paused: the weight holds and no analysis runs until you resume it.',
      resume: 'Rollout resumed: the next analysis is one interval from now.',
      promote: 'Rollout promoted: the candidate is the rule’s new baseline.',
    };
    return { ok: true, rollout: rolloutFromRow(updated), message: messages[control] };
  });
  if (changed.ok) forgetLiveRollouts(runtime.db);
  if (changed.ok && control === 'promote') {
    const version = await publishPromotion(runtime, rolloutId, changed.rollout.ruleId, changed.rollout.candidate);
    return version
      ? { ...changed, message: `${changed.message} Published as version ${version}.` }
      : {
          ...changed,
          message: `${changed.message} Its config version could not be published: publish it from the history.`,
        };
  }
  return changed;
}
