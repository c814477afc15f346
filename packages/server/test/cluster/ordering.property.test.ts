import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runSchedule, scheduleArb } from '../support/send-schedule.js';
import { postgresAvailable, redisAvailable } from '../support/services.js';
import { startCluster, type Cluster } from './cluster-harness.js';

/*
 * The ordering rules of ../integration/ordering.property.test.ts across three
 * real nodes: each device holds its WebSocket (and an SDK client) on a
 * generated node, and HTTP sends and retries go to any node, so one channel's
 * seqs are assigned by concurrent transactions on different nodes. Per
 * channel the seqs must stay gap-free from 1, every device on every node must
 * get every message exactly once (on the wire: in seq order among those
 * committed through one node; through the SDK: exactly the channel, in
 * order), and sync from any cursor must yield exactly the missed set.
 */

const run = postgresAvailable && redisAvailable;
let cluster: Cluster;

beforeAll(async () => {
  if (!run) return;
  cluster = await startCluster(3);
}, 60_000);
afterAll(async () => {
  if (run) await cluster.stop();
});

describe.runIf(run)('message ordering across three nodes', () => {
  it('concurrent sends through different nodes keep every channel gap-free and reach every device on every node once, in order', async () => {
    const urls = cluster.nodes.map((n) => n.url);
    await fc.assert(
      fc.asyncProperty(scheduleArb({ nodes: urls.length, maxUsers: 4, maxRounds: 3, maxOps: 20 }), (schedule) => runSchedule(schedule, { urls, cluster: true })),
      // The time limit only caps shrinking after a failure; a passing file ends long before it.
      { numRuns: 15, plugins: [fc.interruptAfterTimeLimit(40_000)] },
    );
  }, 90_000);
});
