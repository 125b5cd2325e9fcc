import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

import { METRIC_LABELS } from '~/domain/rollout';

import type { RoutingPageData } from './route';

type RolloutView = RoutingPageData['rollouts'][number];

const BASELINE_COLOR = '#64748b';
const CANDIDATE_COLOR = '#2f5bea';

/**
 * One small chart per metric the plan checks: baseline against candidate at each analysis so
 * far, labelled by analysis number and the weight of the time (not by clock time, so the server
 * and every viewer's zone draw the same axis).
 */
export function RolloutTrends({ rollout }: { rollout: RolloutView }) {
  if (rollout.trend.length === 0) return null;
  const metrics = [...new Set(rollout.plan.thresholds.map((threshold) => threshold.metric))];
  return (
    <div className="rollout-trends">
      {metrics.map((metric) => {
        const data = rollout.trend.map((point) => ({
          label: `#${point.analysis} · ${point.weight} %`,
          baseline: point.baseline[metric] ?? null,
          candidate: point.candidate[metric] ?? null,
        }));
        return (
          <figure key={metric} className="rollout-trend" aria-label={`${METRIC_LABELS[metric]}, baseline vs candidate`}>
            <figcaption>{METRIC_LABELS[metric]}</figcaption>
            <ResponsiveContainer width="100%" height={160}>
              <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="#e3e6ea" />
                <XAxis dataKey="label" fontSize={11} />
                <YAxis fontSize={11} width={48} />
                <Tooltip />
                <Legend />
                <Line
                  type="monotone"
                  dataKey="baseline"
                  name="Baseline"
                  stroke={BASELINE_COLOR}
                  connectNulls
                  isAnimationActive={false}
                />
                <Line
                  type="monotone"
                  dataKey="candidate"
                  name="Candidate"
                  stroke={CANDIDATE_COLOR}
                  connectNulls
                  isAnimationActive={false}
                />
              </LineChart>
            </ResponsiveContainer>
          </figure>
        );
      })}
    </div>
  );
}
