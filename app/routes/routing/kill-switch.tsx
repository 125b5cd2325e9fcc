import { Form } from '@remix-run/react';
import { useState } from 'react';

/** The kill switch: all generation back to the edge (or hybrid routing on again), published at once. */
export function KillSwitch({ enabled }: { enabled: boolean }) {
  const [armed, setArmed] = useState(false);
  return (
    <section className="panel kill-switch" aria-labelledby="kill-switch">
      <h2 id="kill-switch">Kill switch</h2>
      <p>
        {enabled
          ? 'Hybrid routing is on. Flipping the kill switch sends all generation back to the edge (the rollback plan), as a new published version.'
          : 'The kill switch is on: all generation runs at the edge. Turn hybrid routing back on to resume the canary.'}
      </p>
      <Form method="post" className="inline-form">
        <input type="hidden" name="intent" value="kill-switch" />
        <input type="hidden" name="hybridEnabled" value={enabled ? 'false' : 'true'} />
        <label className="inline-check">
          <input
            type="checkbox"
            name="confirm"
            value="yes"
            checked={armed}
            onChange={(event) => setArmed(event.target.checked)}
          />{' '}
          I understand this changes routing for all traffic now
        </label>
        <button type="submit" className={enabled ? 'button-danger' : 'button'} disabled={!armed}>
          {enabled ? 'Flip the kill switch: all to edge' : 'Turn hybrid routing back on'}
        </button>
      </Form>
    </section>
  );
}
