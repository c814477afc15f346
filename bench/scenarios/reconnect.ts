import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { target } from '../lib/drivers/confab.js';
import { merge, summarize } from '../lib/histogram.js';
import { totalCpuSeconds } from '../lib/proc-stats.js';
import { MAX_CONNS_PER_WORKER } from '../lib/workers.js';

/*
 * Reconnect storm: N SDK clients in 1:1 conversations lose the network at
 * once; while they are away each conversation gets a backlog; then the
 * network comes back for all of them at the same moment. Reported: how long
 * until every client has every message it missed (from the moment the
 * network returned), how many did, anything missing, and the server CPU the
 * storm cost.
 */

function request<T>(proc: ChildProcess, message: object, evt: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sdk worker: no ${evt}`)), timeoutMs);
    const on = (m: { evt: string }) => {
      if (m.evt !== evt) return;
      clearTimeout(timer);
      proc.off('message', on);
      resolve(m as T);
    };
    proc.on('message', on);
    proc.send(message);
  });
}

async function untilIdle(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let quietSince = performance.now();
  let last = totalCpuSeconds(pids);
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = totalCpuSeconds(pids);
    if (now - last > 0.25 * 0.05) quietSince = performance.now();
    last = now;
    if (performance.now() - quietSince >= 1_000) return;
  }
}

export async function reconnectStorm(opts: { nodes: number; clients: number; backlogPerClient: number; workers: number; timeoutMs: number }) {
  const clients = opts.clients - (opts.clients % 2);
  const running = await target.start({ nodes: opts.nodes });
  const count = Math.max(opts.workers, Math.ceil(clients / MAX_CONNS_PER_WORKER));
  const file = fileURLToPath(new URL('../lib/sdk-worker.ts', import.meta.url));
  // CONFAB_BENCH_LOAD_PROFILE=<dir>: a CPU profile of each load process, to tell whether the clients or the server set the pace.
  const profile = process.env.CONFAB_BENCH_LOAD_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CONFAB_BENCH_LOAD_PROFILE}`] : [];
  const procs = Array.from({ length: count }, () => fork(file, [], { execArgv: [...profile, '--conditions=@confab/source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  try {
    const plan = { clients, rooms: Array.from({ length: clients / 2 }, (_, i) => ({ members: [2 * i, 2 * i + 1] })) };
    const specs = await target.provision(running, plan);
    const shares: { url: string; token: string; rooms: string[] }[][] = procs.map(() => []);
    specs.forEach((s, i) => shares[i % count]!.push({ url: running.urls[i % running.urls.length]!, token: s.auth!, rooms: s.rooms.map((r) => r.id) }));
    const opened = await Promise.all(procs.map((p, w) => request<{ ok: number; failed: number; ms: number }>(p, { cmd: 'open', conns: shares[w] }, 'opened', 600_000)));
    const connected = opened.reduce((s, o) => s + o.ok, 0);
    if (connected !== clients) throw new Error(`${clients - connected} clients failed to connect`);

    await Promise.all(procs.map((p) => request(p, { cmd: 'offline' }, 'offline', 30_000)));
    // The backlog: each conversation gets messages from one side while both are away.
    const expected: Record<string, number> = {};
    const sendBacklog = async (room: number) => {
      const spec = specs[2 * room]!;
      const channelId = spec.rooms[0]!.id;
      let last = 0;
      for (let k = 0; k < opts.backlogPerClient; k++) {
        const res = await fetch(`${running.urls[room % running.urls.length]}/v1/channels/${channelId}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.auth}` },
          body: JSON.stringify({ clientId: `backlog-${k}`, text: `missed message ${k}` }),
        });
        if (!res.ok) throw new Error(`backlog send: ${res.status}`);
        last = ((await res.json()) as { seq: number }).seq;
      }
      expected[channelId] = last;
    };
    let nextRoom = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (nextRoom < plan.rooms.length) await sendBacklog(nextRoom++);
    }));
    // The outage is over only once the server has finished with it: closing the
    // cut sockets, presence, the backlog's receipts. Wait until it is idle
    // (under 5 % of a core for a whole second, at most 60 s), so the storm's
    // figures hold the storm alone.
    await untilIdle(running.pids, 60_000);

    const cpu0 = totalCpuSeconds(running.pids);
    const loadPids = procs.map((p) => p.pid!);
    const loadCpu0 = totalCpuSeconds(loadPids);
    const results = await Promise.all(
      procs.map((p) => request<{ converged: number; missing: number; times: string; offlineMs: number; socketAttempts: number; httpRequests: Record<string, number> }>(p, { cmd: 'online', expected, timeoutMs: opts.timeoutMs }, 'online', opts.timeoutMs + 30_000)),
    );
    const cpu = totalCpuSeconds(running.pids) - cpu0;
    const loadCpu = totalCpuSeconds(loadPids) - loadCpu0;
    const times = summarize(merge(results.map((r) => r.times)));
    const convergedCount = results.reduce((s, r) => s + r.converged, 0);
    return {
      clients,
      loadProcesses: count,
      clientsPerLoadProcess: Math.ceil(clients / count),
      backlogMessages: plan.rooms.length * opts.backlogPerClient,
      converged: convergedCount,
      missing: results.reduce((s, r) => s + r.missing, 0),
      allConvergedMs: convergedCount === clients ? times.maxMs : null,
      convergence: times,
      // What the clients did after the network came back: one socket attempt
      // per client is the ideal; HTTP requests are resumes that needed more
      // than the socket (or retries after a failed attempt).
      socketAttempts: results.reduce((s, r) => s + r.socketAttempts, 0),
      httpRequests: results.reduce<Record<string, number>>((all, r) => {
        for (const [path, n] of Object.entries(r.httpRequests)) all[path] = (all[path] ?? 0) + n;
        return all;
      }, {}),
      serverCpuSeconds: Math.round(cpu * 100) / 100,
      // Includes the few seconds the workers wait after the last client converged.
      loadCpuSeconds: Math.round(loadCpu * 100) / 100,
    };
  } finally {
    await Promise.all(procs.map((p) => request(p, { cmd: 'close' }, 'closed', 30_000).catch(() => p.kill('SIGKILL'))));
    await running.stop();
  }
}
