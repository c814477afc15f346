import { parseArgs } from 'node:util';
import { loadTarget } from './lib/targets.js';
import { machine } from './lib/proc-stats.js';
import { throughput } from './scenarios/throughput.js';
import { idle } from './scenarios/idle.js';
import { history } from './scenarios/history.js';
import { reconnectStorm } from './scenarios/reconnect.js';
import { floorScenario } from './scenarios/floor.js';

/*
 * npm run bench -- <scenario> [options]
 *
 * Scenarios: idle, direct (1:1), groups (groups of 100), reconnect, history,
 * floor (the machine's own write floor). Each run prints one JSON object per
 * line: the scenario, its parameters, the machine, and the results. With
 * --runs N the scenario runs N times and the report holds every run plus the
 * median of the headline figures.
 *
 * Options:
 *   --target confab|ws-relay|socketio   what to drive (default confab)
 *   --nodes N        Confab nodes on PostgreSQL + Redis (default 1: embedded SQLite)
 *   --runtime node|bun   the runtime Confab's server runs on (default node; bun
 *                    uses Bun's built-in WebSocket server and bun:sqlite; the
 *                    `bun` binary is the project's devDependency, or CONFAB_BENCH_BUN)
 *   --rates a,b,c    offered messages per second to sweep (direct, groups)
 *   --duration S     seconds per rate, including --warmup (default 8, warm-up 2)
 *   --clients N      connections (idle, reconnect); --pairs N (direct); --groups N (groups)
 *   --runs N         repetitions (default 1)
 *   --quick          a few seconds, tiny sizes: a smoke run that checks the harness works
 */

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    target: { type: 'string', default: 'confab' },
    runtime: { type: 'string', default: 'node' },
    nodes: { type: 'string', default: '1' },
    rates: { type: 'string' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    clients: { type: 'string' },
    pairs: { type: 'string' },
    groups: { type: 'string' },
    messages: { type: 'string' },
    runs: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
  },
});

const scenario = positionals[0];
if (values.runtime !== 'node' && values.runtime !== 'bun') throw new Error(`--runtime must be node or bun, got ${values.runtime}`);
// The target drivers (and the processes they start) read it from the environment.
process.env.CONFAB_BENCH_RUNTIME = values.runtime;
const quick = values.quick;
const nodes = Number(values.nodes);
const runs = Number(values.runs);
const durationMs = quick ? 2_000 : Number(values.duration) * 1000;
const warmupMs = quick ? 500 : Number(values.warmup) * 1000;
const workers = Number(values.workers);
const rates = (fallback: number[]) => (values.rates ? values.rates.split(',').map(Number) : fallback);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function once(): Promise<{ params: Record<string, unknown>; result: Record<string, unknown>; headline: Record<string, number | null> }> {
  const target = await loadTarget(values.target!);
  switch (scenario) {
    case 'direct': {
      const pairs = Number(values.pairs ?? (quick ? 20 : 1000));
      const plan = { clients: pairs * 2, rooms: Array.from({ length: pairs }, (_, i) => ({ members: [2 * i, 2 * i + 1] })) };
      const senders = plan.rooms.flatMap((r, room) => r.members.map((client) => ({ client, room })));
      const sweep = rates(quick ? [200] : [1_000, 5_000, 10_000, 20_000, 30_000, 40_000]);
      const params = { target: target.name, nodes, pairs, rates: sweep, durationMs, warmupMs, textBytes: 100, p99BudgetMs: 100 };
      const result = await throughput({ target, nodes, plan, senders, rates: sweep, durationMs, warmupMs, textBytes: 100, p99BudgetMs: 100, workers });
      const at10k = result.rates.find((r) => r.offeredPerSec === 10_000);
      return { params, result, headline: { maxRateWithinBudget: result.maxRateWithinBudget, p99At10kMs: at10k?.e2e.p99Ms ?? null } };
    }
    case 'groups': {
      const groups = Number(values.groups ?? (quick ? 2 : 10));
      const size = quick ? 10 : 100;
      const plan = { clients: groups * size, rooms: Array.from({ length: groups }, (_, g) => ({ members: Array.from({ length: size }, (_, i) => g * size + i) })) };
      const senders = plan.rooms.flatMap((r, room) => r.members.map((client) => ({ client, room })));
      const sweep = rates(quick ? [50] : [100, 250, 500, 1_000, 1_500, 2_000, 3_000]);
      const params = { target: target.name, nodes, groups, groupSize: size, rates: sweep, durationMs, warmupMs, textBytes: 100, p99BudgetMs: 100 };
      const result = await throughput({ target, nodes, plan, senders, rates: sweep, durationMs, warmupMs, textBytes: 100, p99BudgetMs: 100, workers });
      const passing = result.rates.filter((r) => r.withinBudget);
      const best = passing.at(-1);
      return {
        params,
        result,
        headline: {
          maxRateWithinBudget: result.maxRateWithinBudget,
          deliveriesPerSecAtMax: best?.deliveriesPerSec ?? null,
          deliveriesPerCpuSecondAtMax: best?.deliveriesPerCpuSecond ?? null,
        },
      };
    }
    case 'idle': {
      const clients = Number(values.clients ?? (quick ? 100 : 10_000));
      const result = await idle({ target, nodes, clients, settleMs: quick ? 1_000 : 10_000, restMs: quick ? 2_000 : 30_000, workers });
      return { params: { target: target.name, nodes, clients }, result, headline: { liveHeapBytesPerConnection: result.liveHeapBytesPerConnection, userBytesPerConnection: result.userBytesPerConnection, cpuPercentAtRest: result.cpuPercentAtRest } };
    }
    case 'history': {
      const messages = Number(values.messages ?? (quick ? 2_000 : 1_000_000));
      const result = await history({ messages, requests: quick ? 200 : 5_000 });
      return { params: { messages }, result, headline: { p99Ms: result.long.p99Ms, shortP99Ms: result.short.p99Ms } };
    }
    case 'reconnect': {
      const clients = Number(values.clients ?? (quick ? 50 : 10_000));
      const result = await reconnectStorm({ nodes, clients, backlogPerClient: quick ? 2 : 5, workers, timeoutMs: quick ? 20_000 : 120_000 });
      return { params: { nodes, clients }, result, headline: { allConvergedMs: result.allConvergedMs, missing: result.missing } };
    }
    case 'floor': {
      const result = await floorScenario({ quick });
      return { params: {}, result, headline: { writesPerCpuSecond: result.plain.writesPerCpuSecond, batchedMessagesPerCpuSecond: result.batched.messagesPerCpuSecond } };
    }
    default:
      throw new Error(`unknown scenario ${String(scenario)}: one of direct, groups, idle, history, reconnect, floor`);
  }
}

async function main(): Promise<void> {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await once());
  const headline: Record<string, number | null> = {};
  for (const key of Object.keys(all[0]!.headline)) {
    const xs = all.map((r) => r.headline[key]).filter((x): x is number => typeof x === 'number');
    headline[key] = xs.length ? median(xs) : null;
  }
  const report = {
    scenario,
    at: new Date().toISOString(),
    machine: machine(),
    params: { ...all[0]!.params, ...(values.target === 'confab' && { runtime: values.runtime }) },
    median: headline,
    runs: all.map((r) => r.result),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
