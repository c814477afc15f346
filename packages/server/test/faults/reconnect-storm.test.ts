import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message } from '@confab/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { Device, Ledger, checkDelivered, readHistory } from '../support/delivery-ledger.js';
import { http } from '../support/http.js';
import { killServer, spawnServer, type ServerProcess } from '../support/process.js';
import { freePort } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { sleep } from '../support/wait.js';
import { api, faultClient } from './fault-kit.js';
import type { StormAccount, StormReply, StormRequest, StormStats } from './storm-protocol.js';

/*
 * A reconnect storm. Thousands of SDK clients, held by several load
 * processes, reach the server's WebSocket through a TCP proxy (the server's
 * PUBLIC_URL, as behind a load balancer) and its HTTP API directly. The proxy
 * drops every socket at once and refuses new ones for a few seconds, while
 * senders keep writing to the groups: when it lets traffic through again
 * every client reconnects, with the SDK's own backoff, and catches up.
 *
 * Checked: the server stays up; every client ends with exactly the
 * acknowledged messages of its channels, each once, in order; and the load
 * the storm puts on the database is bounded: reconnect attempts back off
 * with jitter (the first retries spread out, few attempts per client during
 * the outage) and each client's catch-up costs about one sync, on the socket
 * it is already on, plus a history page only where that sync's answer could
 * not carry all it missed.
 */

const USERS = Number(process.env.CONFAB_STORM_USERS ?? 1_500); // two devices each
const WORKERS = 3;
const GROUP_SIZE = 50;
const CUT_MS = 4_000;
const clients = USERS * 2;

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'confab-fault-storm-'));
let server: ServerProcess | undefined;
let proxy: TcpProxy | undefined;
const workers: Worker[] = [];
const senders: Device[] = [];

afterAll(async () => {
  for (const s of senders) s.client.close();
  for (const w of workers) w.child.kill('SIGKILL');
  await proxy?.close();
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** One load process: a request gets the next reply. */
class Worker {
  readonly child: ChildProcess;
  private waiting: { resolve: (r: StormReply) => void; reject: (e: Error) => void }[] = [];

  constructor(readonly index: number) {
    this.child = fork(fileURLToPath(new URL('./storm-worker.ts', import.meta.url)), [], {
      cwd: root,
      execArgv: ['--conditions=@confab/source', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: StormReply) => {
      const w = this.waiting.shift();
      if (m.type === 'failed') w?.reject(new Error(`load process ${index}: ${m.error}`));
      else w?.resolve(m);
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`load process ${index} exited with ${code}`));
    });
  }

  request<T extends StormReply['type']>(msg: StormRequest, expect: T): Promise<Extract<StormReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting.push({
        resolve: (r) => (r.type === expect ? resolve(r as Extract<StormReply, { type: T }>) : reject(new Error(`expected ${expect}, got ${r.type}`))),
        reject,
      });
      this.child.send(msg);
    });
  }
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map((item, j) => fn(item, i + j)))));
  return out;
}

function sum(stats: Record<string, StormStats>[], phase: string, what: (s: StormStats) => number): number {
  return stats.reduce((n, s) => n + (s[phase] ? what(s[phase]) : 0), 0);
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The kernel's count of connections dropped because a listen queue was full (machine-wide). */
function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const names = lines.find((l) => l.startsWith('TcpExt:'))!.split(' ');
  const values = lines.filter((l) => l.startsWith('TcpExt:'))[1]!.split(' ');
  return Number(values[names.indexOf('ListenOverflows')] ?? NaN);
}

function vmRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

describe('a reconnect storm', () => {
  it(`${clients} clients in ${WORKERS} load processes drop at once and come back to a backlog: the server survives, every client converges to exactly the acknowledged set, database load stays bounded`, async () => {
    const started = Date.now();
    const port = await freePort();
    proxy = await TcpProxy.start({ host: '127.0.0.1', port });
    server = await spawnServer({
      DATA_DIR: dir,
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${proxy.port}`,
      // Setup creates many groups from few accounts, and the senders stand for many users.
      GROUP_OPS_PER_MINUTE: '0',
      SEND_MESSAGES_PER_SECOND: '0',
      // Nothing is killed here: skip the per-commit fsync so that setting up thousands of accounts is quick.
      SQLITE_SYNCHRONOUS: 'normal',
    });
    const url = server.url;

    // --- users, devices, channels ---------------------------------------------------------
    const tag = Date.now().toString(36);
    const password = 'correct horse battery';
    const signUp = async (username: string) => {
      const res = await http(url, 'POST', '/v1/accounts', { body: { username, password, displayName: username } });
      if (res.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(res.body)}`);
      const login = async (deviceName: string) => (await http(url, 'POST', '/v1/sessions', { body: { username, password, deviceName } })).body as { token: string; user: { id: string } };
      const [a, b] = [await login('one'), await login('two')];
      return { userId: a.user.id, tokens: [a.token, b.token] };
    };
    const users = await inBatches(
      Array.from({ length: USERS }, (_, i) => `st${tag}u${i}`),
      32,
      (name) => signUp(name),
    );
    const groupCount = Math.ceil(USERS / GROUP_SIZE);
    const senderUsers = await inBatches(Array.from({ length: groupCount }, (_, g) => `st${tag}s${g}`), 32, (name) => signUp(name));
    const groups = await inBatches(senderUsers, 8, async (s, g) => {
      const memberIds = users.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE).map((u) => u.userId);
      return (await http(url, 'POST', '/v1/channels', { token: s.tokens[0], body: { name: `storm ${g}`, memberIds } })).body.channel.id as string;
    });
    const directs = await inBatches(
      Array.from({ length: USERS / 2 }, (_, k) => k),
      32,
      async (k) => (await http(url, 'POST', '/v1/channels/direct', { token: users[2 * k]!.tokens[0], body: { userId: users[2 * k + 1]!.userId } })).body.channel.id as string,
    );
    const channelsOf = (i: number) => [groups[Math.floor(i / GROUP_SIZE)]!, directs[Math.floor(i / 2)]!];
    const accounts: (StormAccount & { user: number })[] = users.flatMap((u, i) =>
      u.tokens.map((token, k) => ({ name: `u${i}d${k}`, userId: u.userId, token, channels: channelsOf(i), user: i })),
    );
    const setupDone = Date.now();

    // --- the load processes connect every client -------------------------------------------
    const shares = Array.from({ length: WORKERS }, (_, w) => accounts.filter((_, i) => i % WORKERS === w));
    for (let w = 0; w < WORKERS; w++) workers.push(new Worker(w));
    const ready = await Promise.all(workers.map((w, i) => w.request({ type: 'init', baseUrl: url, accounts: shares[i]!.map(({ user: _u, ...a }) => a) }, 'ready')));
    const connected = Date.now();
    for (const [g, s] of senderUsers.entries()) {
      const device = new Device(`sender${g}`, s.userId, s.tokens[0]!, faultClient(url, s.tokens[0]!, { discovery: false }));
      await device.client.connect();
      senders.push(device);
    }
    const ledger = new Ledger();
    const sendToGroups = (label: string) => senders.forEach((s, g) => ledger.send(s, groups[g]!, `${label} to group ${g}`));

    // Live traffic first: everyone is connected.
    for (let i = 0; i < 2; i++) sendToGroups(`live ${i}`);
    expect(await ledger.settle(30_000)).toEqual([]);

    // --- the drop: every socket at once, with each user's first device sending as it happens ---
    await Promise.all(workers.map((w) => w.request({ type: 'phase', name: 'cut' }, 'phase-started')));
    await Promise.all(
      workers.map((w, i) =>
        w.request({ type: 'send', sends: shares[i]!.flatMap((a, c) => (a.name.endsWith('d0') ? [{ client: c, channelId: a.channels[1]!, text: `${a.name} at the drop` }] : [])) }, 'sent'),
      ),
    );
    const overflowsAtCut = listenOverflows();
    const cpuAtCut = { server: cpuSeconds(server.child.pid!), workers: workers.map((w) => cpuSeconds(w.child.pid!)), self: process.cpuUsage() };
    const cutAt = Date.now();
    proxy.cut();
    // The backlog: written while nobody in the groups can receive it.
    for (let i = 0; i < 5; i++) sendToGroups(`backlog ${i}`);
    expect(await ledger.settle(30_000)).toEqual([]);
    await sleep(CUT_MS - (Date.now() - cutAt));
    const during = await Promise.all(workers.map((w) => w.request({ type: 'stats' }, 'stats')));
    await Promise.all(workers.map((w) => w.request({ type: 'phase', name: 'recover' }, 'phase-started')));
    proxy.restore();
    const restoredAt = Date.now();
    // More messages while the clients come back, racing their syncs.
    for (let i = 0; i < 2; i++) {
      sendToGroups(`return ${i}`);
      await sleep(1_000);
    }
    expect(await ledger.settle(30_000)).toEqual([]);

    // --- convergence ----------------------------------------------------------------------
    const lastSeq: Record<string, number> = {};
    // Each group: its creation and the 9 messages of the senders; each 1:1 channel: one send per side.
    for (const g of groups) lastSeq[g] = 1 + 9;
    for (const d of directs) lastSeq[d] = 2;
    const reports = await Promise.all(workers.map((w) => w.request({ type: 'converge', lastSeq, timeoutMs: 150_000 }, 'converged')));
    const convergedAt = Date.now();
    const overflows = listenOverflows() - overflowsAtCut;
    const cpu = {
      server: cpuSeconds(server.child.pid!) - cpuAtCut.server,
      workers: workers.map((w, i) => cpuSeconds(w.child.pid!) - cpuAtCut.workers[i]!),
      self: (() => {
        const u = process.cpuUsage(cpuAtCut.self);
        return (u.user + u.system) / 1e6;
      })(),
    };
    const alive = server.child.exitCode === null && server.child.signalCode === null;
    const health = alive ? (await http(url, 'GET', '/healthz')).status : 0;
    const peakRssMb = alive ? vmRssMb(server.child.pid!) : NaN;

    const problems: string[] = [];
    for (const r of reports) {
      if (r.laggingCount > 0) problems.push(`${r.laggingCount} clients did not converge, e.g. ${r.lagging.join('; ')}`);
      problems.push(...r.refused.slice(0, 5).map((e) => `refused send: ${e}`));
    }
    // The storm devices' acknowledged sends join the ledger; then stored history and each client's log are checked.
    const remote = reports.map((r, w) => shares[w]!.map((a) => Device.remote(a.name, a.userId)));
    reports.forEach((r, w) => {
      for (const a of r.acks) ledger.recordAck(remote[w]![a.client]!, a.channelId, a.clientId, a.text, { channelId: a.channelId, seq: a.seq, createdAt: 0, duplicate: a.duplicate, clientId: a.clientId });
    });
    const readers = new Map<string, string>();
    groups.forEach((g, i) => readers.set(g, senderUsers[i]!.tokens[0]!));
    directs.forEach((d, k) => readers.set(d, users[2 * k]!.tokens[0]!));
    const histories = new Map<string, Message[]>();
    await inBatches([...readers], 16, async ([channelId, token]) => {
      histories.set(channelId, await readHistory(api(url, token), channelId));
    });
    for (const [channelId, history] of histories) problems.push(...ledger.checkStored(channelId, history));
    reports.forEach((r, w) => {
      shares[w]!.forEach((a, c) => {
        const device = remote[w]![c]!;
        for (const [channelId, seq] of Object.entries(ready[w]!.from[c]!)) device.from.set(channelId, seq);
        for (const channelId of a.channels) {
          device.log.set(channelId, (r.logs[c]![channelId] ?? []).map((e) => ({ seq: Number(e.split(':')[0]), clientId: e.slice(e.indexOf(':') + 1) }) as Message));
          problems.push(...checkDelivered(device, channelId, histories.get(channelId)!));
        }
      });
    });

    // --- what the storm cost ------------------------------------------------------------------
    const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
    const cutStats = during.map((d) => d.stats);
    const recoverStats = reports.map((r) => r.stats);
    // Each connection attempt starts with GET /v1/connect; during the drop every one of them fails.
    const cutAttempts = during.flatMap((d) => d.attempts);
    const meanCutAttempts = cutAttempts.reduce((a, b) => a + b, 0) / clients;
    // The first retry's delay after the socket was lost: the SDK draws it from [0, 500 ms].
    const firstDelays = during
      .flatMap((d) => d.lostAt.map((lost, i) => (lost !== null && d.firstAttemptAt[i] !== null ? d.firstAttemptAt[i]! - lost : null)))
      .filter((x): x is number => x !== null)
      .sort((a, b) => a - b);
    const buckets = new Map<number, number>();
    for (const t of firstDelays) buckets.set(Math.floor(t / 100), (buckets.get(Math.floor(t / 100)) ?? 0) + 1);
    const busiest100ms = Math.max(...buckets.values()) / firstDelays.length;
    const httpSyncs = sum(recoverStats, 'recover', (s) => s.http.sync ?? 0);
    const socketSyncs = sum(recoverStats, 'recover', (s) => s.wsSyncs);
    const syncs = httpSyncs + socketSyncs;
    const pages = sum(recoverStats, 'recover', (s) => s.http.history ?? 0);
    const welcomes = sum(recoverStats, 'recover', (s) => s.welcomes);
    const authenticated = (s: StormStats) => Object.values(s.http).reduce((a, b) => a + b, 0);
    const welcomeTimes = recoverStats.flatMap((s) => s.recover?.welcomeOffsets ?? []).sort((a, b) => a - b);
    const latencies = (all: Record<string, StormStats>[], phase: string) => {
      const agg: Record<string, { n: number; total: number; max: number }> = {};
      for (const s of all) {
        for (const [k, l] of Object.entries(s[phase]?.latency ?? {})) {
          const a = (agg[k] ??= { n: 0, total: 0, max: 0 });
          a.n += s[phase]!.http[k] ?? 0;
          a.total += l.total;
          a.max = Math.max(a.max, l.max);
        }
      }
      return Object.entries(agg)
        .map(([k, a]) => `${k} ${Math.round(a.total / Math.max(1, a.n))}/${a.max}`)
        .join(', ');
    };
    const failures = (all: Record<string, StormStats>[], phase: string) => {
      const out: Record<string, number> = {};
      for (const s of all) for (const [k, v] of Object.entries(s[phase]?.failures ?? {})) out[k] = (out[k] ?? 0) + v;
      return JSON.stringify(out);
    };
    console.log(
      [
        `reconnect storm: ${clients} clients (${USERS} users) in ${WORKERS} load processes, ${groups.length} groups of ${GROUP_SIZE}, ${directs.length} 1:1 channels`,
        `  setup ${((setupDone - started) / 1000).toFixed(1)} s, connect ${((connected - setupDone) / 1000).toFixed(1)} s; dropped for ${CUT_MS} ms; all converged ${((convergedAt - restoredAt) / 1000).toFixed(1)} s after the restore`,
        `  during the drop: ${cutAttempts.reduce((a, b) => a + b, 0)} connection attempts (mean ${meanCutAttempts.toFixed(2)}, max ${Math.max(...cutAttempts)} per client), ${sum(cutStats, 'cut', authenticated)} authenticated HTTP requests (each one token lookup); first retry after the loss p10/p50/p90 ${q(firstDelays, 0.1)}/${q(firstDelays, 0.5)}/${q(firstDelays, 0.9)} ms, busiest 100 ms held ${(busiest100ms * 100).toFixed(1)}% of them`,
        `  recovery: ${welcomes} welcomes (p50 ${q(welcomeTimes, 0.5)} ms, p90 ${q(welcomeTimes, 0.9)} ms, last ${q(welcomeTimes, 1)} ms after the restore), ${syncs} syncs (${(syncs / clients).toFixed(2)} per client; ${socketSyncs} over the socket, ${httpSyncs} over HTTP), ${pages} history pages (${(pages / clients).toFixed(2)} per client), ${sum(recoverStats, 'recover', (s) => s.http.connect ?? 0)} connect, ${sum(recoverStats, 'recover', (s) => s.http.me ?? 0)} me`,
        `  failed sockets: drop ${failures(cutStats, 'cut')}, recovery ${failures(recoverStats, 'recover')}`,
        `  HTTP latency (mean/max ms) during the drop: ${latencies(cutStats, 'cut')}; recovery: ${latencies(recoverStats, 'recover')}`,
        `  CPU from the drop to convergence (${((convergedAt - cutAt) / 1000).toFixed(1)} s): server ${cpu.server.toFixed(1)} s, load processes ${cpu.workers.map((c) => c.toFixed(1)).join(' + ')} s, test process (proxy) ${cpu.self.toFixed(1)} s; server peak RSS ${peakRssMb} MB`,
        `  connections dropped by a full listen queue (Node's default backlog is 511) on this machine meanwhile: ${overflows}`,
        `  sends: ${ledger.ackCount} acknowledged in all (${ledger.duplicateAcks} as duplicates of a commit whose ack was lost at the drop)`,
      ].join('\n'),
    );

    expect(alive).toBe(true);
    expect(health).toBe(200);
    expect(problems).toEqual([]);
    // Backoff with jitter: the first retries are spread over the backoff window (uniform over
    // 500 ms puts ~20% in each 100 ms; without jitter nearly all would share one)...
    expect(busiest100ms).toBeLessThan(0.5);
    // ...and while the drop lasted each client tried a handful of times (about 4 in 5 s when the
    // delay doubles from 500 ms; a fixed short delay would make it dozens).
    expect(meanCutAttempts).toBeLessThan(8);
    // Catching up costs about one sync per client, over the socket it is already on, and a
    // history page only where the sync's answer could not carry everything.
    expect(syncs).toBeLessThanOrEqual(2 * clients);
    expect(socketSyncs).toBeGreaterThanOrEqual(httpSyncs);
    expect(pages).toBeLessThanOrEqual(4 * clients);

    await Promise.all(workers.map((w) => w.request({ type: 'close' }, 'closed')));
  }, 300_000);
});
