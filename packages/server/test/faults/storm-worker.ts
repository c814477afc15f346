/*
 * A load process for the reconnect storm: holds many SDK clients (a process
 * may hold at most ~20,000 open files, so the storm is spread over several of
 * these), counts what they ask of the server, and reports what they received.
 * Driven by its parent over IPC; see reconnect-storm.test.ts.
 */
import { ConfabClient, type FetchLike } from '@confab/sdk';
import WebSocket from 'ws';
import type { StormAccount, StormReply, StormRequest, StormStats } from './storm-protocol.js';

interface Held {
  account: StormAccount;
  client: ConfabClient;
  /** Per channel: "seq:clientId" of every message emitted, in order. */
  log: Record<string, string[]>;
  /** In the current phase: connection attempts, when the first began, when the socket was lost. */
  attempts: number;
  firstAttemptAt: number | null;
  lostAt: number | null;
  sends: Promise<void>[];
}

let held: Held[] = [];
const acks: { client: number; channelId: string; clientId: string; text: string; seq: number; duplicate: boolean }[] = [];
const refused: string[] = [];
let phase = { name: 'setup', startedAt: Date.now() };
let stats: Record<string, StormStats> = {};

function statsOf(name: string): StormStats {
  return (stats[name] ??= { wsAttempts: 0, wsSyncs: 0, welcomes: 0, http: {}, latency: {}, failures: {}, welcomeOffsets: [] });
}

function kindOf(path: string): string {
  if (path === '/v1/sync') return 'sync';
  if (/^\/v1\/channels\/[^/]+\/messages$/.test(path)) return 'history';
  if (path === '/v1/me') return 'me';
  if (path === '/v1/connect') return 'connect';
  if (path === '/v1/channels') return 'channels';
  return 'other';
}

/** Counts and times every HTTP request of one client, by kind; a `/v1/connect` request starts each connection attempt. */
function countingFetch(h: Held): FetchLike {
  return (url, init) => {
    const s = statsOf(phase.name);
    const kind = kindOf(new URL(url).pathname);
    s.http[kind] = (s.http[kind] ?? 0) + 1;
    if (kind === 'connect') {
      h.attempts++;
      h.firstAttemptAt ??= Date.now();
    }
    const t0 = Date.now();
    const done = () => {
      const ms = Date.now() - t0;
      const l = (s.latency[kind] ??= { total: 0, max: 0 });
      l.total += ms;
      l.max = Math.max(l.max, ms);
    };
    return fetch(url, init).finally(done);
  };
}

function open(account: StormAccount, baseUrl: string): Held {
  const h: Held = { account, client: undefined as unknown as ConfabClient, log: {}, attempts: 0, firstAttemptAt: null, lostAt: null, sends: [] };
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      const s = statsOf(phase.name);
      s.wsAttempts++;
      // Why sockets fail, by message (e.g. a refused upgrade's status).
      this.on('error', (err: Error) => {
        const key = err.message.replace(/\d+\.\d+\.\d+\.\d+:\d+/, 'ADDR');
        s.failures[key] = (s.failures[key] ?? 0) + 1;
      });
    }

    override send(data: unknown, ...rest: unknown[]): void {
      if (typeof data === 'string' && data.startsWith('{"type":"sync"')) statsOf(phase.name).wsSyncs++;
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  // The SDK's default backoff (500 ms doubling to 30 s, full jitter): what real clients do.
  h.client = new ConfabClient({ baseUrl, token: account.token, WebSocket: CountingWebSocket as never, fetch: countingFetch(h) });
  h.client.on('state', (st) => {
    if (st === 'reconnecting') h.lostAt ??= Date.now();
  });
  h.client.on('message', (m) => (h.log[m.channelId] ??= []).push(`${m.seq}:${m.clientId}`));
  h.client.on('welcome', () => {
    const s = statsOf(phase.name);
    s.welcomes++;
    s.welcomeOffsets.push(Date.now() - phase.startedAt);
  });
  return h;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

function reply(msg: StormReply): void {
  process.send!(msg);
}

async function handle(msg: StormRequest): Promise<void> {
  switch (msg.type) {
    case 'init': {
      held = msg.accounts.map((a) => open(a, msg.baseUrl));
      await inBatches(held, 50, (h) => h.client.connect());
      reply({ type: 'ready', from: held.map((h) => h.client.getSyncState().have) });
      return;
    }
    case 'phase': {
      phase = { name: msg.name, startedAt: Date.now() };
      for (const h of held) {
        h.attempts = 0;
        h.firstAttemptAt = null;
        h.lostAt = null;
      }
      reply({ type: 'phase-started' });
      return;
    }
    case 'send': {
      for (const s of msg.sends) {
        const h = held[s.client]!;
        const clientId = `${h.account.name}-${s.text.replace(/\W/g, '')}`;
        h.sends.push(
          h.client.send(s.channelId, s.text, { clientId }).then(
            (ack) => void acks.push({ client: s.client, channelId: s.channelId, clientId, text: s.text, seq: ack.seq, duplicate: ack.duplicate }),
            (err: unknown) => void refused.push(`${h.account.name}: ${String(err)}`),
          ),
        );
      }
      reply({ type: 'sent' });
      return;
    }
    case 'converge': {
      const deadline = Date.now() + msg.timeoutMs;
      const behind = () =>
        held.filter((h) => {
          const have = h.client.getSyncState().have;
          return h.client.pendingSends > 0 || h.account.channels.some((c) => (have[c] ?? 0) < (msg.lastSeq[c] ?? 0));
        });
      let lagging = behind();
      while (lagging.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        lagging = behind();
      }
      reply({
        type: 'converged',
        lagging: lagging.slice(0, 5).map((h) => `${h.account.name} (${h.client.state}, ${h.client.pendingSends} unacknowledged): ${JSON.stringify(h.client.getSyncState().have)}`),
        laggingCount: lagging.length,
        logs: held.map((h) => h.log),
        acks,
        refused,
        stats,
      });
      return;
    }
    case 'stats': {
      reply({ type: 'stats', stats, attempts: held.map((h) => h.attempts), firstAttemptAt: held.map((h) => h.firstAttemptAt), lostAt: held.map((h) => h.lostAt) });
      return;
    }
    case 'close': {
      for (const h of held) h.client.close();
      reply({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
      return;
    }
  }
}

process.on('message', (msg: StormRequest) => {
  handle(msg).catch((err: unknown) => reply({ type: 'failed', error: String((err as Error)?.stack ?? err) }));
});
// The parent going away (a failed test) must not leave this process behind.
process.on('disconnect', () => process.exit(0));
