import type { Target } from '../lib/driver.js';
import { HeapSnapshots } from '../lib/heap-snapshot.js';
import { rssBytes, tcpKernelBytes, tcpSlabBytes, totalCpuSeconds } from '../lib/proc-stats.js';
import { MAX_CONNS_PER_WORKER, Workers } from '../lib/workers.js';

/*
 * Idle connections: N authenticated clients that only heartbeat. Reports the
 * server's memory per connection — user space (resident set growth of the
 * server process) and kernel (TCP socket buffers and socket structures,
 * machine-wide, so both ends of each loopback connection; the server's half
 * is about half of it) — and the CPU the server burns at rest. For Confab
 * on Node it also counts the live heap per connection from heap snapshots
 * (after a full collection), which the resident set, holding garbage and
 * allocator slack, can only approximate.
 */

export interface IdleOptions {
  target: Target;
  nodes: number;
  clients: number;
  settleMs: number;
  restMs: number;
  workers: number;
}

async function heapUsed(url: string): Promise<number | null> {
  try {
    // Only Confab serves /metrics; a baseline may never answer it at all.
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    const m = /^confab_process_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function idle(opts: IdleOptions) {
  const snapshots = opts.target.name === 'confab' && process.env.CONFAB_BENCH_RUNTIME !== 'bun' && opts.nodes === 1 ? new HeapSnapshots() : null;
  const nodeArgs = process.env.CONFAB_BENCH_NODE_ARGS;
  if (snapshots) process.env.CONFAB_BENCH_NODE_ARGS = `${nodeArgs ?? ''} ${snapshots.nodeArgs}`;
  const running = await opts.target.start({ nodes: opts.nodes }).finally(() => {
    if (nodeArgs === undefined) delete process.env.CONFAB_BENCH_NODE_ARGS;
    else process.env.CONFAB_BENCH_NODE_ARGS = nodeArgs;
  });
  const workers = Workers.start(Math.max(opts.workers, Math.ceil(opts.clients / MAX_CONNS_PER_WORKER)));
  try {
    const specs = await opts.target.provision(running, { clients: opts.clients, rooms: [] });
    // Settle before the baseline: provisioning leaves garbage a collection will reclaim.
    await new Promise((r) => setTimeout(r, 2_000));
    const rssBefore = running.pids.reduce((s, pid) => s + rssBytes(pid), 0);
    const heapBefore = await heapUsed(running.urls[0]!);
    const kernelBefore = tcpKernelBytes();
    const slabBefore = tcpSlabBytes();

    const opened = await workers.open(opts.target.driverModule, running.urls, specs);
    if (opened.failed > 0) throw new Error(`${opened.failed} connections failed: ${opened.errors.join('; ')}`);
    await new Promise((r) => setTimeout(r, opts.settleMs));

    const rssAfter = running.pids.reduce((s, pid) => s + rssBytes(pid), 0);
    const heapAfter = await heapUsed(running.urls[0]!);
    const kernelAfter = tcpKernelBytes();
    const slabAfter = tcpSlabBytes();

    const cpu0 = totalCpuSeconds(running.pids);
    await new Promise((r) => setTimeout(r, opts.restMs));
    const cpu = totalCpuSeconds(running.pids) - cpu0;

    // Last, so that the snapshots' own work is not in the figures above.
    let liveHeapBytesPerConnection: number | null = null;
    if (snapshots) {
      const withConnections = await snapshots.liveBytes(running.pids[0]!);
      await workers.drop();
      await new Promise((r) => setTimeout(r, opts.settleMs));
      const without = await snapshots.liveBytes(running.pids[0]!);
      liveHeapBytesPerConnection = Math.round((withConnections - without) / opts.clients);
    }

    const n = opened.ok;
    return {
      connections: n,
      loadProcesses: workers.count,
      connectionsPerLoadProcess: Math.ceil(n / workers.count),
      connectMs: opened.ms,
      userBytesPerConnection: Math.round((rssAfter - rssBefore) / n),
      heapBytesPerConnection: heapBefore !== null && heapAfter !== null ? Math.round((heapAfter - heapBefore) / n) : null,
      liveHeapBytesPerConnection,
      serverRssMiB: Math.round((rssAfter / 2 ** 20) * 10) / 10,
      kernelTcpBufferBytesPerConnection: Math.round((kernelAfter - kernelBefore) / n),
      kernelSocketSlabBytesPerConnection: Number.isNaN(slabAfter) ? null : Math.round((slabAfter - slabBefore) / n),
      restSeconds: opts.restMs / 1000,
      serverCpuSecondsAtRest: Math.round(cpu * 100) / 100,
      cpuPercentAtRest: Math.round((cpu / (opts.restMs / 1000)) * 1000) / 10,
    };
  } finally {
    await workers.close();
    await running.stop();
    snapshots?.dispose();
  }
}
