import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Device, Ledger, checkInvariant } from '../support/delivery-ledger.js';
import { http, login, newUser } from '../support/http.js';
import { killServer, spawnServer, type ServerProcess } from '../support/process.js';
import { client } from '../support/sdk.js';
import { until } from '../support/wait.js';

/*
 * A bounded soak: a steady mixed load against one real server process
 * (embedded, as shipped) for SOAK_DURATION_MS (default 2 minutes): 1:1 and
 * group sends, read receipts, history pages, presence heartbeats and
 * queries, typing, and a device restarting from its saved state every few
 * seconds. The server's memory is sampled throughout.
 *
 * The rule: the first half is warm-up (caches fill, the JIT settles, the
 * heap finds its size). Over the second half, a least-squares line is fitted
 * through the live heap measured right after a forced full garbage
 * collection (every 3 s), and through the resident set size (every second).
 * The run fails if the live heap grows faster than HEAP_LIMIT_MB_PER_MIN or
 * the RSS faster than RSS_LIMIT_MB_PER_MIN. At this load (~20 messages a
 * second) a leak of 1 KB per message is ~1.2 MB/min of live heap. It also
 * fails if anything acknowledged was lost, doubled or reordered, or if
 * connections are left behind.
 */

const DURATION_MS = Number(process.env.SOAK_DURATION_MS ?? 120_000);
const HEAP_LIMIT_MB_PER_MIN = 1;
const RSS_LIMIT_MB_PER_MIN = 8;
const USERS = 40;
const SECOND_DEVICES = 10;

const dir = mkdtempSync(join(tmpdir(), 'confab-soak-'));
let server: ServerProcess | undefined;
const devices: Device[] = [];

afterAll(async () => {
  for (const d of devices) d.client.close();
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
});

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/** A small deterministic generator, so that a run can be repeated. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const MB = 1024 * 1024;

describe('soak', () => {
  it(`holds a steady mixed load for ${Math.round(DURATION_MS / 1000)} s without memory growth or loss`, async () => {
    const probe = fileURLToPath(new URL('./gc-probe.mjs', import.meta.url));
    server = await spawnServer({
      DATA_DIR: dir,
      // Clients ping every second: presence heartbeats are part of the load.
      HEARTBEAT_MS: '1000',
      PRESENCE_TIMEOUT_MS: '5000',
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import=${probe}`.trim(),
    });
    const url = server.url;
    const pid = server.child.pid!;

    // --- people, devices, channels -------------------------------------------------------------
    const users = await Promise.all(Array.from({ length: USERS }, (_, i) => newUser(url, `soak${i}`)));
    const post = async (token: string, path: string, body: unknown) => (await http(url, 'POST', path, { token, body })).body.channel.id as string;
    // Everyone has a 1:1 channel with the next person, and belongs to one of five groups of eight.
    const directs = await Promise.all(users.map((u, i) => post(u.token, '/v1/channels/direct', { userId: users[(i + 1) % USERS]!.user.id })));
    const groups = await Promise.all(
      Array.from({ length: 5 }, (_, g) => post(users[g * 8]!.token, '/v1/channels', { name: `soak ${g}`, memberIds: users.slice(g * 8 + 1, g * 8 + 8).map((u) => u.user.id) })),
    );
    const channelsOf = (i: number) => [directs[i]!, directs[(i + USERS - 1) % USERS]!, groups[Math.floor(i / 8)]!];
    const memberships: { device: Device; channels: string[] }[] = [];
    const open = async (name: string, userIndex: number, token: string) => {
      const d = new Device(name, users[userIndex]!.user.id, token, client(url, token));
      await d.client.connect();
      d.noteStart();
      devices.push(d);
      memberships.push({ device: d, channels: channelsOf(userIndex) });
      return d;
    };
    for (let i = 0; i < USERS; i++) await open(`u${i}`, i, users[i]!.token);
    for (let i = 0; i < SECOND_DEVICES; i++) await open(`u${i}b`, i, (await login(url, users[i]!.username, users[i]!.password, 'second')).token);
    const userOf = (d: Device) => users.findIndex((u) => u.user.id === d.userId);

    // --- the load ------------------------------------------------------------------------------
    const rnd = random(7);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const ledger = new Ledger();
    const counts = { reconnects: 0, historyPages: 0, presenceQueries: 0, reads: 0, typing: 0, failedReads: 0 };
    for (const d of devices) {
      d.client.on('message', (m) => {
        if (rnd() < 0.3) {
          d.client.markRead(m.channelId, m.seq);
          counts.reads++;
        }
      });
    }
    const timers: NodeJS.Timeout[] = [];
    const every = (ms: number, fn: () => void) => timers.push(setInterval(fn, ms));
    // ~20 messages a second: 60% in 1:1 channels, 40% in groups. Per device well under the send limit.
    every(50, () => {
      const d = pick(devices);
      const [left, right, group] = channelsOf(userOf(d));
      const channelId = rnd() < 0.6 ? (rnd() < 0.5 ? left! : right!) : group!;
      ledger.send(d, channelId, `soak ${ledger.sentCount} ${'x'.repeat(Math.floor(rnd() * 200))}`);
    });
    every(500, () => {
      const d = pick(devices);
      d.client.typing(pick(channelsOf(userOf(d))));
      counts.typing++;
    });
    every(1_000, () => {
      const d = pick(devices);
      counts.historyPages++;
      d.client.api.history(pick(channelsOf(userOf(d))), { limit: 50 }).catch(() => counts.failedReads++);
    });
    every(1_000, () => {
      const i = Math.floor(rnd() * USERS);
      counts.presenceQueries++;
      devices[i]!.client.api.presence([users[(i + 1) % USERS]!.user.id, users[(i + USERS - 1) % USERS]!.user.id]).catch(() => counts.failedReads++);
    });
    // A device restarts from its saved state every 3 s (an app killed and reopened).
    every(3_000, () => {
      const d = pick(devices.filter((x) => x.client.pendingSends === 0 && x.client.state === 'open'));
      const state = d.client.getSyncState();
      d.client.close();
      d.attach(client(url, d.token, { syncState: state }));
      void d.client.connect();
      counts.reconnects++;
    });

    // --- memory samples ------------------------------------------------------------------------
    const started = Date.now();
    const rss: { x: number; y: number }[] = [];
    const heap: { x: number; y: number }[] = [];
    const live: { x: number; y: number }[] = [];
    const readRss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    const readHeap = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/^confab_process_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? NaN);
    };
    const probeResults = () =>
      [...server!.output().matchAll(/^\{"gcProbe":(\{[^\n]*\})\}$/gm)].map((m) => JSON.parse(m[1]!) as { at: number; heapUsed: number; rss: number });
    every(1_000, () => {
      const x = (Date.now() - started) / 60_000;
      rss.push({ x, y: readRss() / MB });
      readHeap().then((h) => heap.push({ x, y: h / MB }), () => undefined);
    });
    every(3_000, () => server!.child.kill('SIGUSR2'));

    await new Promise((r) => setTimeout(r, DURATION_MS));
    for (const t of timers) clearInterval(t);
    for (const p of probeResults()) live.push({ x: (p.at - started) / 60_000, y: p.heapUsed / MB });

    // --- nothing acknowledged lost, nothing left behind ----------------------------------------------
    const { problems } = await checkInvariant({ ledger, reader: (id) => devices.find((d) => memberships.find((m) => m.device === d)!.channels.includes(id))!.client.api, devices: memberships, settleMs: 60_000 });
    const connections = async () => Number(/^confab_connections (\S+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN);
    await until(async () => (await connections()) === devices.length, 15_000, 'the connection count to settle').catch(() => undefined);
    const openConnections = await connections();

    // --- the verdict -----------------------------------------------------------------------------
    const half = DURATION_MS / 2 / 60_000;
    const late = (xs: { x: number; y: number }[]) => xs.filter((p) => p.x >= half);
    const liveSlope = slope(late(live));
    const rssSlope = slope(late(rss));
    const heapSlope = slope(late(heap));
    const minutes = DURATION_MS / 60_000;
    const fmt = (xs: { y: number }[]) => `${xs[0]?.y.toFixed(1)} → ${xs.at(-1)?.y.toFixed(1)} MB (peak ${Math.max(...xs.map((p) => p.y)).toFixed(1)})`;
    console.log(
      [
        `soak: ${(minutes * 60).toFixed(0)} s, ${devices.length} devices of ${USERS} users, ${directs.length} 1:1 channels, ${groups.length} groups`,
        `  load: ${ledger.sentCount} messages sent (${(ledger.sentCount / (minutes * 60)).toFixed(1)}/s), ${ledger.ackCount} acknowledged; ${counts.reads} read receipts, ${counts.historyPages} history pages, ${counts.presenceQueries} presence queries, ${counts.typing} typing, ${counts.reconnects} device restarts, ~${devices.length} heartbeats/s`,
        `  live heap after a full GC (${live.length} probes): ${fmt(live)}; slope over the second half ${liveSlope.toFixed(2)} MB/min (limit ${HEAP_LIMIT_MB_PER_MIN})`,
        `  RSS (${rss.length} samples): ${fmt(rss)}; slope over the second half ${rssSlope.toFixed(2)} MB/min (limit ${RSS_LIMIT_MB_PER_MIN})`,
        `  heap used between collections (/metrics): ${fmt(heap)}; slope over the second half ${heapSlope.toFixed(2)} MB/min (not judged: it follows the collector's rhythm)`,
        `  open connections at the end: ${openConnections} for ${devices.length} devices; failed reads ${counts.failedReads}`,
      ].join('\n'),
    );

    expect(problems).toEqual([]);
    expect(openConnections).toBe(devices.length);
    expect(late(live).length).toBeGreaterThanOrEqual(3);
    expect(liveSlope).toBeLessThan(HEAP_LIMIT_MB_PER_MIN);
    expect(rssSlope).toBeLessThan(RSS_LIMIT_MB_PER_MIN);
  });
});
