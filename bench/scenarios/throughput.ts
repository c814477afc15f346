import type { RoomPlan, Target, Traffic } from '../lib/driver.js';
import { merge, nowUs, summarize, type LatencySummary } from '../lib/histogram.js';
import { serviceCpuSeconds, totalCpuSeconds } from '../lib/proc-stats.js';
import { MAX_CONNS_PER_WORKER, Workers } from '../lib/workers.js';

/*
 * The 1:1 and group scenarios: a fixed set of rooms, every member connected,
 * and a sweep of offered rates. At each rate the generators send at a
 * constant arrival rate for a while; the report gives end-to-end and ack
 * latency percentiles, deliveries per second and per server CPU-second, and
 * whether everything sent arrived. The "max rate" is the highest offered
 * rate whose end-to-end p99 stayed within the budget with nothing lost.
 */

export interface ThroughputOptions {
  target: Target;
  nodes: number;
  plan: RoomPlan;
  /** Which clients send, and to which room (plan index). */
  senders: { client: number; room: number }[];
  rates: number[];
  durationMs: number;
  warmupMs: number;
  textBytes: number;
  p99BudgetMs: number;
  workers: number;
}

export interface RateResult {
  offeredPerSec: number;
  sent: number;
  acked: number;
  refused: number;
  /** Deliveries to other members, plus echoes to the sender's own connection. */
  deliveries: number;
  expectedDeliveries: number;
  lost: number;
  deliveriesPerSec: number;
  serverCpuSeconds: number;
  serverCpuPercent: number;
  /** PostgreSQL and Redis CPU in the same window (multi-node runs). */
  serviceCpuSeconds?: number;
  /** The load processes' CPU in the same window: on a small machine they compete with the server for the same cores. */
  loadCpuSeconds: number;
  loadCpuPercent: number;
  deliveriesPerCpuSecond: number;
  messagesPerCpuSecond: number;
  e2e: LatencySummary;
  ack: LatencySummary;
  generatorMaxLagMs: number;
  /** The worst end-to-end latency (ms) of the sends intended in each 100 ms of the measured window, over all clients: a steady tail or stalls. */
  worstE2eBySlotMs: number[];
  /** What the clients received over the whole run (warm-up and drain included), by frame type: where the server's socket writes go. */
  received?: Traffic;
  withinBudget: boolean;
}

export async function throughput(opts: ThroughputOptions): Promise<{ connections: number; perWorker: number; rates: RateResult[]; maxRateWithinBudget: number | null }> {
  const running = await opts.target.start({ nodes: opts.nodes });
  const workerCount = Math.max(opts.workers, Math.ceil(opts.plan.clients / MAX_CONNS_PER_WORKER));
  const workers = Workers.start(workerCount);
  try {
    const specs = await opts.target.provision(running, opts.plan);
    const opened = await workers.open(opts.target.driverModule, running.urls, specs);
    if (opened.failed > 0) throw new Error(`${opened.failed} connections failed: ${opened.errors.join('; ')}`);
    const roomSize = opts.plan.rooms.map((r) => r.members.length);
    const senders = opts.senders.map((s) => ({ client: s.client, room: specs[s.client]!.rooms.find((r) => r.index === s.room)!.id }));
    const avgRecipients = opts.senders.reduce((sum, s) => sum + roomSize[s.room]!, 0) / opts.senders.length;

    const rates: RateResult[] = [];
    for (const rate of opts.rates) {
      // Server CPU is sampled over exactly the measured window (after warm-up, until the last send).
      const startUs = Math.round(nowUs()) + 300_000;
      const window = sampleCpu(() => totalCpuSeconds(running.pids), startUs + opts.warmupMs * 1000, startUs + opts.durationMs * 1000);
      const listServices = running.servicePids;
      // Listed again at each reading: PostgreSQL's backends come and go.
      const services = listServices ? sampleCpu(() => serviceCpuSeconds(listServices()), startUs + opts.warmupMs * 1000, startUs + opts.durationMs * 1000) : null;
      const load = sampleCpu(() => totalCpuSeconds(workers.pids), startUs + opts.warmupMs * 1000, startUs + opts.durationMs * 1000);
      const reports = await workers.run({ senders, rate, startUs, durationMs: opts.durationMs, warmupMs: opts.warmupMs, drainMs: 10_000, textBytes: opts.textBytes });
      const { cpu, wall } = await window;
      const serviceCpu = services ? (await services).cpu : undefined;
      const loadSample = await load;
      const sent = reports.reduce((s, r) => s + r.sent, 0);
      const deliveries = reports.reduce((s, r) => s + r.deliveries, 0);
      const expected = Math.round(sent * avgRecipients);
      const measuredSeconds = (opts.durationMs - opts.warmupMs) / 1000;
      const e2e = summarize(merge(reports.map((r) => r.e2e)));
      const result: RateResult = {
        offeredPerSec: rate,
        sent,
        acked: reports.reduce((s, r) => s + r.acked, 0),
        refused: reports.reduce((s, r) => s + r.refused, 0),
        deliveries,
        expectedDeliveries: expected,
        lost: Math.max(0, expected - deliveries),
        deliveriesPerSec: Math.round(deliveries / measuredSeconds),
        serverCpuSeconds: Math.round(cpu * 100) / 100,
        serverCpuPercent: Math.round((cpu / wall) * 100),
        ...(serviceCpu !== undefined && { serviceCpuSeconds: Math.round(serviceCpu * 100) / 100 }),
        loadCpuSeconds: Math.round(loadSample.cpu * 100) / 100,
        loadCpuPercent: Math.round((loadSample.cpu / loadSample.wall) * 100),
        deliveriesPerCpuSecond: cpu > 0 ? Math.round(deliveries / cpu) : 0,
        messagesPerCpuSecond: cpu > 0 ? Math.round(sent / cpu) : 0,
        e2e,
        ack: summarize(merge(reports.map((r) => r.ack))),
        generatorMaxLagMs: Math.max(...reports.map((r) => r.maxLagMs)),
        worstE2eBySlotMs: reports[0]!.worstE2eBySlotMs.map((_, i) => Math.max(...reports.map((r) => r.worstE2eBySlotMs[i] ?? 0))),
        ...(reports.some((r) => r.received) && { received: sumTraffic(reports.map((r) => r.received ?? {})) }),
        withinBudget: false,
      };
      result.withinBudget = result.lost === 0 && result.refused === 0 && e2e.p99Ms <= opts.p99BudgetMs;
      rates.push(result);
      // Past the knee: higher rates only take longer to fail.
      if (!result.withinBudget && e2e.p99Ms > opts.p99BudgetMs * 10) break;
    }
    const passing = rates.filter((r) => r.withinBudget).map((r) => r.offeredPerSec);
    return { connections: opened.ok, perWorker: Math.ceil(opened.ok / workers.count), rates, maxRateWithinBudget: passing.length ? Math.max(...passing) : null };
  } finally {
    await workers.close();
    await running.stop();
  }
}

/** CPU seconds (as `reading` counts them) and wall seconds between two absolute times (µs). */
function sampleCpu(reading: () => number, fromUs: number, toUs: number): Promise<{ cpu: number; wall: number }> {
  return new Promise((resolve) => {
    setTimeout(() => {
      const cpu0 = reading();
      const t0 = performance.now();
      setTimeout(() => resolve({ cpu: reading() - cpu0, wall: (performance.now() - t0) / 1000 }), (toUs - nowUs()) / 1000);
    }, Math.max(0, (fromUs - nowUs()) / 1000));
  });
}

function sumTraffic(parts: readonly Traffic[]): Traffic {
  const out: Traffic = {};
  for (const part of parts) {
    for (const [type, t] of Object.entries(part)) {
      const sum = (out[type] ??= { frames: 0, bytes: 0 });
      sum.frames += t.frames;
      sum.bytes += t.bytes;
    }
  }
  return out;
}
