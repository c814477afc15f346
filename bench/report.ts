import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Turns a results directory written by bench/run-all.sh into the Markdown
 * tables of docs/benchmarks.md: per scenario and target, the median over the
 * runs of each figure at each offered rate.
 *   node --import tsx bench/report.ts bench/results/<day>
 */

const dir = process.argv[2];
if (!dir) throw new Error('usage: report <results dir>');

type Json = Record<string, any>;
const load = (name: string): Json | null => {
  try {
    return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
  } catch {
    return null;
  }
};
const median = (xs: number[]): number => {
  const s = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, digits = 0): string => (Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function rateTable(report: Json, kind: 'direct' | 'groups'): string {
  const runs: Json[] = report.runs;
  const rates = [...new Set<number>(runs.flatMap((run) => run.rates.map((r: Json) => r.offeredPerSec as number)))].sort((a, b) => a - b);
  const at = (rate: number, pick: (r: Json) => number) => median(runs.map((run) => run.rates.find((r: Json) => r.offeredPerSec === rate)).filter(Boolean).map(pick));
  const hasServices = runs.some((run) => run.rates.some((r: Json) => r.serviceCpuSeconds !== undefined));
  // Results from before the load processes' CPU was measured have no such column.
  const hasLoad = runs.some((run) => run.rates.some((r: Json) => r.loadCpuPercent !== undefined));
  const loadHead = hasLoad ? ' load CPU % |' : '';
  const head =
    kind === 'direct'
      ? `| offered msg/s | e2e p50 ms | e2e p99 ms | e2e p99.9 ms | ack p99 ms | server CPU % |${loadHead} msgs / server CPU-s |${hasServices ? ' PG+Redis CPU-s |' : ''} lost | within budget |`
      : `| offered msg/s | deliveries/s | e2e p50 ms | e2e p99 ms | ack p99 ms | server CPU % |${loadHead} deliveries / server CPU-s |${hasServices ? ' PG+Redis CPU-s |' : ''} lost | within budget |`;
  const lines = [head, `|${' --- |'.repeat(head.split('|').length - 2)}`];
  for (const rate of rates) {
    const within = runs.filter((run) => run.rates.find((r: Json) => r.offeredPerSec === rate)?.withinBudget).length;
    const seen = runs.filter((run) => run.rates.find((r: Json) => r.offeredPerSec === rate)).length;
    const services = hasServices ? ` ${fmt(at(rate, (r) => r.serviceCpuSeconds), 2)} |` : '';
    const load = hasLoad ? ` ${fmt(at(rate, (r) => r.loadCpuPercent))} |` : '';
    if (kind === 'direct') {
      lines.push(
        `| ${fmt(rate)} | ${fmt(at(rate, (r) => r.e2e.p50Ms), 1)} | ${fmt(at(rate, (r) => r.e2e.p99Ms), 1)} | ${fmt(at(rate, (r) => r.e2e.p999Ms), 1)} | ${fmt(at(rate, (r) => r.ack.p99Ms), 1)} | ${fmt(at(rate, (r) => r.serverCpuPercent))} |${load} ${fmt(at(rate, (r) => r.messagesPerCpuSecond))} |${services} ${fmt(at(rate, (r) => r.lost))} | ${within}/${seen} |`,
      );
    } else {
      lines.push(
        `| ${fmt(rate)} | ${fmt(at(rate, (r) => r.deliveriesPerSec))} | ${fmt(at(rate, (r) => r.e2e.p50Ms), 1)} | ${fmt(at(rate, (r) => r.e2e.p99Ms), 1)} | ${fmt(at(rate, (r) => r.ack.p99Ms), 1)} | ${fmt(at(rate, (r) => r.serverCpuPercent))} |${load} ${fmt(at(rate, (r) => r.deliveriesPerCpuSecond))} |${services} ${fmt(at(rate, (r) => r.lost))} | ${within}/${seen} |`,
      );
    }
  }
  return lines.join('\n');
}

/** What the clients received at each rate (median over runs), by frame type: share of frames and of bytes. */
function trafficLine(report: Json): string | null {
  const runs: Json[] = report.runs;
  const rates = [...new Set<number>(runs.flatMap((run) => run.rates.filter((r: Json) => r.received).map((r: Json) => r.offeredPerSec as number)))].sort((a, b) => a - b);
  if (rates.length === 0) return null;
  const parts = rates.map((rate) => {
    const at = runs.map((run) => run.rates.find((r: Json) => r.offeredPerSec === rate)?.received).filter(Boolean) as Json[];
    const types = [...new Set(at.flatMap((t) => Object.keys(t)))].filter((type) => at.some((t) => t[type]?.frames > 0));
    const share = (type: string, k: 'frames' | 'bytes') =>
      median(at.map((t) => (100 * (t[type]?.[k] ?? 0)) / Object.values(t).reduce((sum: number, v: Json) => sum + v[k], 0)));
    return `at ${fmt(rate)} msg/s ${types.map((type) => `${type} ${fmt(share(type, 'frames'), 1)} % / ${fmt(share(type, 'bytes'), 1)} %`).join(', ')}`;
  });
  return `Frames received by the clients over each whole run, by type (share of frames / share of bytes, median of the runs): ${parts.join('; ')}.`;
}

const out: string[] = [];
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort();
let m: Json | undefined;
for (const name of names) if ((m = load(name)?.machine)) break;
if (m) out.push(`Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`);
const sweeps = [
  ['direct-confab', 'direct', '1:1, Confab (embedded)'],
  ['direct-ws-relay', 'direct', '1:1, bare ws relay'],
  ['direct-socketio', 'direct', '1:1, Socket.IO'],
  ['direct-confab-2nodes', 'direct', '1:1, Confab on two nodes (PostgreSQL + Redis)'],
  ['groups-confab', 'groups', 'Groups of 100, Confab (embedded)'],
  ['groups-ws-relay', 'groups', 'Groups of 100, bare ws relay'],
  ['groups-socketio', 'groups', 'Groups of 100, Socket.IO'],
  ['groups-confab-2nodes', 'groups', 'Groups of 100, Confab on two nodes (PostgreSQL + Redis)'],
  ['direct-confab-node', 'direct', '1:1, Confab on Node (the runtime comparison)'],
  ['direct-confab-bun', 'direct', '1:1, Confab on Bun (the runtime comparison)'],
  ['groups-confab-node', 'groups', 'Groups of 100, Confab on Node (the runtime comparison)'],
  ['groups-confab-bun', 'groups', 'Groups of 100, Confab on Bun (the runtime comparison)'],
] as const;
// Any other sweep in the directory (e.g. `direct-confab-2nodes-low.json`) gets a table under its file name.
const named = new Set<string>(sweeps.map(([name]) => name));
const extra = names
  .filter((name) => /^(direct|groups)-/.test(name) && !named.has(name))
  .map((name) => [name, name.startsWith('direct') ? 'direct' : 'groups', name] as const);
for (const [name, kind, title] of [...sweeps, ...extra]) {
  const r = load(name);
  if (!r) continue;
  out.push(`\n### ${title}\n\nMedian of ${r.runs.length} runs (a sweep stops once p99 passes 1 s); highest rate within budget (median of the runs' highest): ${fmt(r.median.maxRateWithinBudget ?? NaN)} msg/s.\n`);
  out.push(rateTable(r, kind));
  const traffic = trafficLine(r);
  if (traffic) out.push(`\n${traffic}`);
}
for (const name of ['idle-confab', 'idle-confab-bun', 'idle-ws-relay', 'idle-socketio']) {
  const r = load(name);
  if (!r) continue;
  const pick = (k: string) => median(r.runs.map((x: Json) => x[k]));
  out.push(
    `\n**${name}** (${r.runs[0].connections} connections, ${r.runs[0].loadProcesses} load processes of ≤${r.runs[0].connectionsPerLoadProcess}): user space ${fmt(pick('userBytesPerConnection'))} B/connection${r.runs[0].liveHeapBytesPerConnection ? ` (live heap after a full collection: ${fmt(pick('liveHeapBytesPerConnection'))} B)` : ''}, kernel socket structures ${fmt(pick('kernelSocketSlabBytesPerConnection'))} B/connection (both ends), kernel TCP buffers ${fmt(pick('kernelTcpBufferBytesPerConnection'))} B/connection, CPU at rest ${fmt(pick('cpuPercentAtRest'), 1)} % of a core.`,
  );
}
const h = load('history');
if (h) {
  const pick = (side: string, k: string) => median(h.runs.map((x: Json) => x[side][k]));
  out.push(`\n**history** (${fmt(h.params.messages)} messages, pages of 50 at 200 requests/s, median of ${h.runs.length} runs): p50 ${fmt(pick('long', 'p50Ms'), 2)} ms, p99 ${fmt(pick('long', 'p99Ms'), 2)} ms, p99.9 ${fmt(pick('long', 'p999Ms'), 2)} ms; the same from a channel of 1,000: p50 ${fmt(pick('short', 'p50Ms'), 2)} ms, p99 ${fmt(pick('short', 'p99Ms'), 2)} ms.`);
}
const rc = load('reconnect-confab');
if (rc) {
  const pick = (k: string) => median(rc.runs.map((x: Json) => x[k]));
  out.push(
    `\n**reconnect** (${fmt(rc.runs[0].clients)} SDK clients in ${rc.runs[0].loadProcesses} processes, ${fmt(rc.runs[0].backlogMessages)} messages missed): converged ${rc.runs.map((x: Json) => `${x.converged}/${x.clients}`).join(', ')}; missing ${rc.runs.map((x: Json) => x.missing).join(', ')}; all converged after ${fmt(pick('allConvergedMs'))} ms (median; runs ${rc.runs.map((x: Json) => fmt(x.allConvergedMs)).join(', ')} ms; p50 client ${fmt(median(rc.runs.map((x: Json) => x.convergence.p50Ms)))} ms); server CPU ${fmt(pick('serverCpuSeconds'), 1)} s${rc.runs[0].loadCpuSeconds !== undefined ? `, load processes ${fmt(pick('loadCpuSeconds'), 1)} s` : ''}${rc.runs[0].socketAttempts !== undefined ? `; after the network returned: ${fmt(pick('socketAttempts'))} socket attempts, HTTP requests ${JSON.stringify(rc.runs[0].httpRequests)} (first run)` : ''}.`,
  );
}
const f = load('floor');
if (f) {
  const pick = (side: string, k: string) => median(f.runs.map((x: Json) => x[side][k]));
  out.push(`\n**floor** (${f.runs[0].plain.connections} loopback sockets, ${f.runs[0].plain.messageBytes}-byte messages, median of ${f.runs.length} runs): ${fmt(pick('plain', 'writesPerCpuSecond'))} writes per CPU-second with one write per delivery; ${fmt(pick('batched', 'messagesPerCpuSecond'))} deliveries per CPU-second with 8 messages per write.`);
}
console.log(out.join('\n'));
