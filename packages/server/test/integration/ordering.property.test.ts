import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runSchedule, scheduleArb } from '../support/send-schedule.js';
import { startServer, type TestServer } from '../support/server.js';

/*
 * Ordering rules on one node, on whichever configuration this project runs
 * (SQLite, or PostgreSQL + Redis). Each run creates fresh users and channels
 * on the same server, fires a generated schedule of concurrent sends (some
 * retried with the same client id, over WebSocket and HTTP, some into
 * channels the sender is not in), takes sync cursors between and during the
 * rounds, and then checks (see send-schedule.ts):
 *  (a) each channel's seqs are 1..n without gaps, one message per send key;
 *  (b) every member device reads, and receives live, the same sequence;
 *  (c) a retried client id returns the original seq and never a second message;
 *  (d) a sync from any cursor lists exactly the channels changed after it, and
 *      fetching after what was held then yields exactly the messages after it.
 * Runs are few because each one is real traffic; the seed of a failing run is
 * printed by fast-check for replay.
 */

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

describe('message ordering on one node', () => {
  it('concurrent sends and retries from several devices keep every channel gap-free, identical for every reader, and exactly synced', async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb({ nodes: 1, maxUsers: 4, maxRounds: 4, maxOps: 12 }), (schedule) => runSchedule(schedule, { urls: [srv.url], cluster: false })),
      // The time limit only caps shrinking after a failure; a passing file ends long before it.
      { numRuns: 15, plugins: [fc.interruptAfterTimeLimit(40_000)] },
    );
  }, 90_000);
});
