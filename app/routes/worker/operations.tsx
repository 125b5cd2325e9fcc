import { Form, useNavigation } from '@remix-run/react';
import type { ReactNode } from 'react';

import type { ServiceState } from './types';

/** The three changes ops can make; each form carries the etag it was drawn from. */
export function Operations({ state }: { state: ServiceState }) {
  const { service } = state;
  const ready = state.revisions.filter((revision) => revision.ready.state === 'ready');
  const rollbackTargets = ready.filter((revision) => revision.trafficPercent < 100);
  return (
    <section className="panel" aria-labelledby="operate">
      <h2 id="operate">Change the service</h2>
      <p className="hint">
        Each change applies to live traffic as soon as Cloud Run has rolled it out; this page waits for that. If the
        service changed since this page was loaded, the change is refused and nothing happens.
      </p>
      <div className="worker-ops">
        <OperationForm intent="scale" etag={service.etag} title="Instances" submit="Set instances">
          <label>
            Minimum instances (kept warm, billed while idle)
            <input
              name="minInstances"
              type="number"
              min={0}
              max={1000}
              required
              defaultValue={service.scaling.minInstances}
              className="num-input"
            />
          </label>
          <label>
            Maximum instances
            <input
              name="maxInstances"
              type="number"
              min={1}
              max={1000}
              required
              defaultValue={service.scaling.maxInstances ?? ''}
              className="num-input"
            />
          </label>
        </OperationForm>

        <OperationForm intent="split" etag={service.etag} title="Traffic split" submit="Apply split">
          <table className="table">
            <caption className="hint">Whole percentages that add up to 100; leave a revision empty for 0%.</caption>
            <tbody>
              {ready.map((revision) => (
                <tr key={revision.name}>
                  <td>
                    <input type="hidden" name="revision" value={revision.name} />
                    <code>{revision.name}</code>
                  </td>
                  <td className="num">
                    <input
                      name="percent"
                      type="number"
                      min={0}
                      max={100}
                      step={1}
                      defaultValue={revision.trafficPercent || ''}
                      aria-label={`Share for ${revision.name}`}
                      className="num-input small"
                    />
                    %
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </OperationForm>

        {rollbackTargets.length === 0 ? (
          <p className="hint">No other ready revision to roll back to.</p>
        ) : (
          <OperationForm intent="rollback" etag={service.etag} title="Roll back" submit="Roll back" danger>
            <label>
              Send 100% of traffic to
              <select name="revision" required>
                {rollbackTargets.map((revision) => (
                  <option key={revision.name} value={revision.name}>
                    {revision.name} ({revision.image?.split(':').pop() ?? 'no image'})
                  </option>
                ))}
              </select>
            </label>
          </OperationForm>
        )}
      </div>
    </section>
  );
}

function OperationForm(props: {
  intent: 'scale' | 'split' | 'rollback';
  etag: string;
  title: string;
  submit: string;
  danger?: boolean;
  children: ReactNode;
}) {
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle' && navigation.formData?.get('intent') === props.intent;
  return (
    // Keyed by etag: after a change, the fields start again from the service as it now is.
    <Form method="post" className="form" key={props.etag} aria-label={props.title}>
      <h3>{props.title}</h3>
      <input type="hidden" name="intent" value={props.intent} />
      <input type="hidden" name="etag" value={props.etag} />
      {props.children}
      <label className="inline-check">
        <input type="checkbox" name="confirm" value="yes" required /> I understand this changes the live worker service
      </label>
      <button
        type="submit"
        className={props.danger ? 'button-danger' : 'button'}
        disabled={navigation.state !== 'idle'}
      >
        {busy ? 'Waiting for Cloud Run…' : props.submit}
      </button>
    </Form>
  );
}
