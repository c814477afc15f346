import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { ClientSpec, Conn, ConnHandlers, Driver, RoomPlan, RunningTarget, Target, Traffic } from '../driver.js';
import { servicePids } from '../proc-stats.js';

/*
 * Confab as a benchmark target: the real server (`packages/server/src/main.ts`)
 * in its own process, embedded (SQLite with synchronous=FULL, so every ack is
 * after an fsync) or as several nodes on PostgreSQL + Redis. Clients are
 * real accounts, one device each, speaking the real protocol through `ws`
 * with what a real client adds to the load: `delivered` acknowledgements
 * (merged per channel, at most every 100 ms, as the SDK does) and heartbeats.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PROTOCOL = 'confab.v1';
const AUTH_PREFIX = 'confab.auth.';
const POSTGRES_URL = process.env.CONFAB_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.CONFAB_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Proc {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The server's command line: Node through tsx, or Bun (which runs TypeScript itself) with --runtime bun. */
function serverCommand(): [string, string[]] {
  const lifeline = fileURLToPath(new URL('../lifeline.ts', import.meta.url));
  if (process.env.CONFAB_BENCH_RUNTIME === 'bun') {
    // The project's own Bun (a devDependency) unless CONFAB_BENCH_BUN names another.
    return [process.env.CONFAB_BENCH_BUN ?? join(root, 'node_modules', '.bin', 'bun'), ['--preload', lifeline, '--conditions=@confab/source', 'packages/server/src/main.ts']];
  }
  // CONFAB_BENCH_PROFILE=<dir> writes a V8 CPU profile of each server process there (read it with bench/profile-summary.ts).
  const profile = process.env.CONFAB_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CONFAB_BENCH_PROFILE}`] : [];
  // CONFAB_BENCH_NODE_ARGS: further node flags for the server, e.g. --heapsnapshot-signal=SIGUSR2.
  profile.push(...(process.env.CONFAB_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean));
  return [process.execPath, [...profile, '--conditions=@confab/source', '--import', 'tsx', '--import', lifeline, 'packages/server/src/main.ts']];
}

function startProcess(env: Record<string, string>): Promise<Proc> {
  const [command, args] = serverCommand();
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    // stdin is the lifeline (bench/lib/lifeline.ts): it ends when this process does.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      if (out.length < 100_000) out += c.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (match) {
        clearTimeout(timer);
        // Later log lines are not needed; keep the pipe drained.
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({
          url: match[1]!,
          pid: child.pid!,
          async stop() {
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(killer);
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`server exited:\n${out}`)));
  });
}

async function http<T>(url: string, method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Runs `fn` on a connection of its own to the benchmark's PostgreSQL, closed afterwards. */
async function withDatabase<R>(fn: (db: pg.Client) => Promise<R>): Promise<R> {
  const db = new pg.Client({ connectionString: POSTGRES_URL });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/** A cluster's schema and Redis key prefix: the controller's pid, then a time. */
const TAG_PREFIX = 'confab_bench_';
const CLUSTER_TAG = /^confab_bench_(\d+)_[0-9a-z]+$/;
/** A server's data directory (temporary): the controller's pid, then a random suffix. */
const DATA_DIR_PREFIX = 'confab-bench-';
const DATA_DIR = /^confab-bench-(\d+)-/;

/** Whether a process of this id runs (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Data directories of controllers that no longer run (see abandonedClusters). */
function removeAbandonedDataDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = DATA_DIR.exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/**
 * Clusters left by a controller that no longer runs (stopped by a signal
 * before it could clean up). Its servers ended with it (bench/lib/lifeline.ts);
 * its schema and keys are dropped before the next cluster starts, so they
 * neither fill the database nor slow its catalog down run after run.
 */
async function abandonedClusters(): Promise<string[]> {
  const { rows } = await withDatabase((db) => db.query<{ name: string }>('SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)', [TAG_PREFIX]));
  // Only this target's own names: other benchmarks (bench/micro) share the prefix.
  return rows.map((r) => r.name).filter((name) => {
    const pid = CLUSTER_TAG.exec(name)?.[1];
    return pid !== undefined && !alive(Number(pid));
  });
}

/** Drops the clusters' schemas and Redis keys. */
async function dropClusters(tags: readonly string[]): Promise<void> {
  if (tags.length === 0) return;
  await withDatabase(async (db) => {
    for (const tag of tags) await db.query(`DROP SCHEMA IF EXISTS ${tag} CASCADE`);
  });
  const redis = new Redis(REDIS_URL);
  try {
    for (const tag of tags) {
      let cursor = '0';
      do {
        const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${tag}:*`, 'COUNT', 1000);
        cursor = nextCursor;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    await redis.quit();
  }
}

/**
 * The load generator offers each simulated device more messages per second
 * than the per-device send limit allows a person (it measures the server,
 * not the limit), so the limit is off for benchmark runs.
 */
const NO_SEND_LIMITS = { SEND_MESSAGES_PER_SECOND: '0', SEND_BYTES_PER_SECOND: '0' };

export const target: Target = {
  name: 'confab',
  driverModule: 'confab',

  async start({ nodes = 1, dataDir: given }): Promise<RunningTarget> {
    removeAbandonedDataDirs();
    const dataDir = given ?? mkdtempSync(join(tmpdir(), `${DATA_DIR_PREFIX}${process.pid}-`));
    // Cheap password hashing only so that provisioning thousands of accounts
    // is quick; it plays no part in what is measured.
    const base: Record<string, string> = { DATA_DIR: dataDir, SCRYPT_LOG2_N: '10', SQLITE_SYNCHRONOUS: 'full', ...NO_SEND_LIMITS };
    if (nodes === 1) {
      const proc = await startProcess(base);
      return {
        urls: [proc.url],
        pids: [proc.pid],
        async stop() {
          await proc.stop();
          if (!given) rmSync(dataDir, { recursive: true, force: true });
        },
      };
    }
    await dropClusters(await abandonedClusters());
    const tag = `${TAG_PREFIX}${process.pid}_${Date.now().toString(36)}`;
    const cluster = { ...base, DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: tag, REDIS_URL, REDIS_KEY_PREFIX: `${tag}:` };
    const procs = [await startProcess({ ...cluster, NODE_ID: 'node1' })];
    procs.push(...(await Promise.all(Array.from({ length: nodes - 1 }, (_, i) => startProcess({ ...cluster, NODE_ID: `node${i + 2}` })))));
    return {
      urls: procs.map((p) => p.url),
      pids: procs.map((p) => p.pid),
      servicePids,
      // The database's autovacuum would analyze the freshly filled tables
      // within a minute; a run starts sooner, and the plans PostgreSQL would
      // cache until then are the ones for empty tables (sequential scans of
      // the members table inside every append). ANALYZE also invalidates
      // the plans the nodes cached while provisioning.
      async settle() {
        await withDatabase(async (db) => {
          const { rows } = await db.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1', [tag]);
          if (rows.length > 0) await db.query(`ANALYZE ${rows.map(({ name }) => `${tag}.${name}`).join(', ')}`);
        });
      },
      async stop() {
        await Promise.all(procs.map((p) => p.stop()));
        rmSync(dataDir, { recursive: true, force: true });
        await dropClusters([tag]);
      },
    };
  },

  async provision(running: RunningTarget, plan: RoomPlan): Promise<ClientSpec[]> {
    const run = Date.now().toString(36);
    const urlOf = (i: number) => running.urls[i % running.urls.length]!;
    const users = await pool(Array.from({ length: plan.clients }, (_, i) => i), 16, async (i) => {
      const username = `b${run}_${i}`;
      const password = 'benchmark-password';
      const { user } = await http<{ user: { id: string } }>(urlOf(i), 'POST', '/v1/accounts', undefined, { username, password, displayName: `Bench ${i}` });
      const { token } = await http<{ token: string }>(urlOf(i), 'POST', '/v1/sessions', undefined, { username, password, deviceName: 'load generator' });
      return { id: user.id, token };
    });
    const specs: ClientSpec[] = users.map((u) => ({ rooms: [], auth: u.token }));
    await pool(plan.rooms, 16, async (room, index) => {
      const [owner, ...others] = room.members;
      const ownerUser = users[owner!]!;
      const body =
        room.members.length === 2
          ? await http<{ channel: { id: string } }>(urlOf(index), 'POST', '/v1/channels/direct', ownerUser.token, { userId: users[others[0]!]!.id })
          : await http<{ channel: { id: string } }>(urlOf(index), 'POST', '/v1/channels', ownerUser.token, { name: `room ${index}`, memberIds: others.map((m) => users[m]!.id) });
      for (const m of room.members) specs[m]!.rooms.push({ index, id: body.channel.id });
    });
    await running.settle?.();
    return specs;
  },
};

/** What every connection of this process received, by frame type: which frames the server's socket writes go to. */
const received: Traffic = {};

/** The lean client: the protocol by hand, with a real client's delivered acks and heartbeats. */
export const driver: Driver = {
  traffic: () => structuredClone(received),
  connect(url: string, spec: ClientSpec, handlers: ConnHandlers): Promise<Conn> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, [PROTOCOL, AUTH_PREFIX + spec.auth], { perMessageDeflate: false });
    const delivered = new Map<string, number>();
    let flushTimer: NodeJS.Timeout | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    const flush = () => {
      flushTimer = undefined;
      if (ws.readyState !== WebSocket.OPEN) return;
      for (const [channelId, seq] of delivered) ws.send(JSON.stringify({ type: 'delivered', channelId, seq }));
      delivered.clear();
    };
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      ws.on('close', (code) => {
        clearInterval(heartbeat);
        if (flushTimer) clearTimeout(flushTimer);
        handlers.onClose(code);
      });
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString());
        const tally = (received[frame.type] ??= { frames: 0, bytes: 0 });
        tally.frames++;
        tally.bytes += data.length;
        switch (frame.type) {
          case 'message': {
            const m = frame.message;
            handlers.onDeliver(m.channelId, m.text);
            if (m.seq > (delivered.get(m.channelId) ?? 0)) delivered.set(m.channelId, m.seq);
            flushTimer ??= setTimeout(flush, 100);
            return;
          }
          case 'ack':
            handlers.onAck(frame.id);
            return;
          case 'welcome':
            ws.off('error', reject);
            ws.on('error', () => undefined);
            heartbeat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), frame.heartbeatMs);
            resolve({
              send(roomId, id, text) {
                ws.send(JSON.stringify({ type: 'send', id, channelId: roomId, text }));
              },
              drop() {
                ws.terminate();
              },
              close() {
                return new Promise((done) => {
                  if (ws.readyState === WebSocket.CLOSED) return done();
                  ws.once('close', () => done());
                  ws.close();
                });
              },
            });
            return;
          case 'error':
            if (frame.id) handlers.onRefused?.(frame.id, frame.code);
            return;
        }
      });
    });
  },
};
