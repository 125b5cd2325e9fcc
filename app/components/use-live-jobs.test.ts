import WebSocket from 'ws';

import { startRealtimeStandIn } from '../../test/support/realtime-stand-in';
import { subscribeRealtime, type LiveJobChange } from './use-live-jobs';

describe('live updates through Supabase Realtime', () => {
  it('subscribes to postgres_changes on jobs and batches, and turns each change into a nudge', async () => {
    const realtime = await startRealtimeStandIn();
    const changes: LiveJobChange[] = [];
    let nudges = 0;
    const stop = subscribeRealtime(
      { url: realtime.url, key: 'anon-key' },
      (change) => changes.push(change),
      () => (nudges += 1),
      WebSocket,
    );
    try {
      await expect
        .poll(() => realtime.subscribed('chapter_content_jobs') && realtime.subscribed('batches'), { timeout: 5000 })
        .toBe(true);
      expect(realtime.joins[0].apikey).toBe('anon-key');
      expect(realtime.joins[0].config).toMatchObject({
        postgres_changes: [
          { event: '*', schema: 'public', table: 'chapter_content_jobs' },
          { event: '*', schema: 'public', table: 'batches' },
        ],
      });
      await expect.poll(() => nudges, { timeout: 5000 }).toBeGreaterThan(0); // subscribed: catch up once

      realtime.emit(
        'chapter_content_jobs',
        'UPDATE',
        { id: 'job-1', status: 'running', batch_id: 'b-1' },
        { id: 'job-1', status: 'pending' },
      );
      await expect
        .poll(() => changes, { timeout: 5000 })
        .toEqual([{ event: 'status', jobs: [{ id: 'job-1', status: 'running', batch_id: 'b-1' }] }]);
      const before = nudges;
      realtime.emit('batches', 'UPDATE', { id: 'b-1', name: 'x' });
      await expect.poll(() => nudges, { timeout: 5000 }).toBe(before + 1);
    } finally {
      stop();
      await realtime.close();
    }
  });
});
