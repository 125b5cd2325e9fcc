import { useState } from 'react';
import { BACKOFFS, BATCH_RETRY_DESTINATIONS, type RouteRule, type RoutingConfig } from '~/domain/routing';
import { ruleFieldName } from '~/domain/routing-form';

/** One rule of the editor's table: its match, its target and its place in the order. */
export function RuleRow(props: {
  index: number;
  rule: RouteRule;
  last: boolean;
  error: (name: string) => React.ReactNode;
  onMove: (index: number, by: number) => void;
  onRemove: () => void;
}) {
  const { index, rule, error } = props;
  const name = (field: Parameters<typeof ruleFieldName>[1]) => ruleFieldName(index, field);
  return (
    <tr>
      <td>
        <input name={name('id')} defaultValue={rule.id} aria-label={`Rule ${index + 1} id`} size={10} />
        {error(name('id'))}
      </td>
      <td>
        <input name={name('path')} defaultValue={rule.match.path} aria-label={`Rule ${index + 1} path`} size={24} />
        {error(name('path'))}
      </td>
      <td>
        <input
          name={name('methods')}
          defaultValue={(rule.match.methods ?? []).join(', ')}
          aria-label={`Rule ${index + 1} methods`}
          placeholder="any"
          size={8}
        />
      </td>
      <TargetCells prefix={`rules[${index}]`} target={rule} error={error} label={`Rule ${index + 1}`} />
      <td className="order">
        <button
          type="button"
          className="button-quiet"
          aria-label={`Move rule ${index + 1} up`}
          disabled={index === 0}
          onClick={() => props.onMove(index, -1)}
        >
          ↑
        </button>
        <button
          type="button"
          className="button-quiet"
          aria-label={`Move rule ${index + 1} down`}
          disabled={props.last}
          onClick={() => props.onMove(index, 1)}
        >
          ↓
        </button>
        <button type="button" className="button-quiet" aria-label={`Remove rule ${index + 1}`} onClick={props.onRemove}>
          ✕
        </button>
      </td>
    </tr>
  );
}

/** The default rule's row: no match, only a target. */
export function TargetRow(props: {
  prefix: string;
  label: string;
  target: RoutingConfig['defaultRule'];
  error: (name: string) => React.ReactNode;
}) {
  return (
    <tr className="default-rule">
      <td colSpan={3}>{props.label}</td>
      <TargetCells prefix={props.prefix} target={props.target} error={props.error} label="Default rule" />
      <td />
    </tr>
  );
}

function TargetCells(props: {
  prefix: string;
  target: RoutingConfig['defaultRule'];
  error: (name: string) => React.ReactNode;
  label: string;
}) {
  const { prefix, target, error, label } = props;
  // Where errored batch results retry means something only for a batch destination: the choice
  // shows there; elsewhere a saved choice is kept as it is, so an unchanged save changes nothing.
  const [destination, setDestination] = useState(target.destination);
  return (
    <>
      <td>
        <select
          name={`${prefix}.destination`}
          defaultValue={target.destination}
          aria-label={`${label} destination`}
          onChange={(event) => setDestination(event.currentTarget.value as typeof destination)}
        >
          <option>edge</option>
          <option>cloud</option>
          <option title="Message Batches API at half price, for economy delivery; normal or low priority">batch</option>
        </select>
        {target.model ? <input type="hidden" name={`${prefix}.model`} value={target.model} /> : null}
        {target.maxTokens ? <input type="hidden" name={`${prefix}.maxTokens`} value={target.maxTokens} /> : null}
        {target.model ? (
          <div className="hint">
            {target.model}
            {target.maxTokens ? `, ${target.maxTokens} tokens` : ''}
          </div>
        ) : null}
      </td>
      <td>
        <select name={`${prefix}.priority`} defaultValue={target.priority} aria-label={`${label} priority`}>
          <option>high</option>
          <option>normal</option>
          <option>low</option>
        </select>
      </td>
      <td>
        <input
          name={`${prefix}.timeoutMs`}
          type="number"
          defaultValue={target.timeoutMs}
          aria-label={`${label} timeout in ms`}
          className="num-input"
        />
        {error(`${prefix}.timeoutMs`)}
      </td>
      <td>
        <input
          name={`${prefix}.retry.maxRetries`}
          type="number"
          defaultValue={target.retry.maxRetries}
          aria-label={`${label} retries`}
          className="num-input small"
        />
        {error(`${prefix}.retry.maxRetries`)}
      </td>
      <td>
        <select name={`${prefix}.retry.backoff`} defaultValue={target.retry.backoff} aria-label={`${label} backoff`}>
          {BACKOFFS.map((backoff) => (
            <option key={backoff}>{backoff}</option>
          ))}
        </select>
        {destination === 'batch' ? (
          <select
            name={`${prefix}.retry.batchRetriesTo`}
            defaultValue={target.retry.batchRetriesTo ?? 'batch'}
            aria-label={`${label} errored batch retries go to`}
            title="Where a retryable errored result of the Message Batches API is retried"
          >
            {BATCH_RETRY_DESTINATIONS.map((option) => (
              <option key={option} value={option}>
                {option === 'batch' ? 'retry in a later batch' : 'retry on cloud'}
              </option>
            ))}
          </select>
        ) : target.retry.batchRetriesTo ? (
          <input type="hidden" name={`${prefix}.retry.batchRetriesTo`} value={target.retry.batchRetriesTo} />
        ) : null}
        {error(`${prefix}.retry.batchRetriesTo`)}
      </td>
      <td>
        <input
          name={`${prefix}.retry.baseDelayMs`}
          type="number"
          defaultValue={target.retry.baseDelayMs}
          aria-label={`${label} base delay in ms`}
          className="num-input"
        />
      </td>
      <td>
        <input
          name={`${prefix}.retry.maxDelayMs`}
          type="number"
          defaultValue={target.retry.maxDelayMs}
          aria-label={`${label} max delay in ms`}
          className="num-input"
        />
        {error(`${prefix}.retry.maxDelayMs`)}
      </td>
    </>
  );
}
