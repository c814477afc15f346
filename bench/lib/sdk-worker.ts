import { ConfabClient } from '@confab/sdk';
import WebSocket from 'ws';
import { encode, newHistogram } from './histogram.js';

/*
 * A load process of real SDK clients, for the reconnect storm: the storm is
 * about what clients do when they come back (sync, then fetch exactly the
 * missing ranges), so they run the SDK's own algorithm, not a replica.
 *
 * The network is simulated in the WebSocket class and the fetch handed to the
 * SDK: going "offline" cuts every socket without a close handshake and makes
 * new connection attempts and HTTP requests fail at once (as with no route to
 * the server); going "online" lets them through again, and each client reconnects on its own
 * jittered backoff, exactly as it would after a real outage.
 */

let online = true;
const sockets = new Set<WebSocket>();

/** What the clients did once the network was back: socket attempts and HTTP requests (by path). */
let socketAttempts = 0;
const httpRequests: Record<string, number> = {};

/** HTTP goes over the same simulated network: while offline a request fails as with no route. */
const simulatedFetch: typeof fetch = (input, init) => {
  if (!online) return Promise.reject(new TypeError('fetch failed'));
  if (onlineAt) {
    const path = new URL(String(input)).pathname.replace(/\/c_[^/]+/, '/{id}');
    httpRequests[path] = (httpRequests[path] ?? 0) + 1;
  }
  return fetch(input, init);
};

/**
 * A connection attempt while offline: it fails on the next turn of the event
 * loop without touching the network, as with no route to the host. (Real
 * sockets to a closed port cost the load process a handshake setup per
 * attempt; thousands of clients retrying every second or two saturated it,
 * and the failures it was late to report turned into token checks over HTTP
 * once the network was back.)
 */
class UnreachableSocket {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor() {
    setImmediate(() => {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onerror?.({ message: 'connect ENETUNREACH' });
      this.onclose?.({ code: 1006, reason: '' });
    });
  }

  send(): void {
    throw new Error('not open');
  }

  close(): void {
    this.readyState = 3;
  }
}

/** What the SDK is given as its WebSocket class: a real socket while online, an unreachable one while not. */
function SimulatedNetworkSocket(url: string, protocols?: string | string[]): WebSocket | UnreachableSocket {
  if (!online) return new UnreachableSocket();
  if (onlineAt) socketAttempts++;
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
  sockets.add(ws);
  ws.on('close', () => sockets.delete(ws));
  return ws;
}

interface Held {
  client: ConfabClient;
  /** Highest seq seen per channel. */
  have: Map<string, number>;
  convergedAt: number | null;
}

const held: Held[] = [];
let expected = new Map<string, number>();
let offlineAt = 0;
let onlineAt = 0;

/** Every expected channel of this client is complete. Walks the client's own channels: it runs on every message. */
function converged(h: Held): boolean {
  for (const [channelId, seq] of h.have) {
    const want = expected.get(channelId);
    if (want !== undefined && seq < want) return false;
  }
  return true;
}

process.on('message', async (m: { cmd: string; [k: string]: unknown }) => {
  switch (m.cmd) {
    case 'open': {
      const conns = m.conns as { url: string; token: string; rooms: string[] }[];
      const started = performance.now();
      let failed = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          while (next < conns.length) {
            const c = conns[next++]!;
            const h: Held = { client: null as unknown as ConfabClient, have: new Map(c.rooms.map((r) => [r, 0])), convergedAt: null };
            h.client = new ConfabClient({
              baseUrl: c.url,
              token: c.token,
              WebSocket: SimulatedNetworkSocket as never,
              fetch: simulatedFetch as never,
              discovery: false,
              // What a mobile app would use: retry soon, never wait long once the network is back.
              reconnect: { initialDelayMs: 500, maxDelayMs: 2_000 },
            });
            h.client.on('message', (msg) => {
              if (msg.seq > (h.have.get(msg.channelId) ?? 0)) h.have.set(msg.channelId, msg.seq);
              if (onlineAt && h.convergedAt === null && converged(h)) h.convergedAt = performance.now();
            });
            try {
              await h.client.connect();
              held.push(h);
            } catch {
              failed++;
            }
          }
        }),
      );
      process.send!({ evt: 'opened', ok: held.length, failed, errors: [], ms: Math.round(performance.now() - started) });
      return;
    }
    case 'offline':
      online = false;
      offlineAt = performance.now();
      for (const s of sockets) s.terminate();
      process.send!({ evt: 'offline' });
      return;
    case 'online': {
      expected = new Map(Object.entries(m.expected as Record<string, number>));
      for (const h of held) h.convergedAt = converged(h) ? performance.now() : null;
      online = true;
      onlineAt = performance.now();
      const deadline = onlineAt + (m.timeoutMs as number);
      while (performance.now() < deadline && held.some((h) => h.convergedAt === null)) await new Promise((r) => setTimeout(r, 50));
      const times = newHistogram();
      let missing = 0;
      for (const h of held) {
        if (h.convergedAt === null) {
          for (const [channelId, seq] of h.have) missing += Math.max(0, (expected.get(channelId) ?? 0) - seq);
        } else times.recordValue(Math.max(1, Math.round((h.convergedAt - onlineAt) * 1000)));
      }
      process.send!({
        evt: 'online',
        converged: held.filter((h) => h.convergedAt !== null).length,
        missing,
        times: encode(times),
        offlineMs: Math.round(onlineAt - offlineAt),
        socketAttempts,
        httpRequests,
      });
      return;
    }
    case 'close':
      for (const h of held) h.client.close();
      process.send!({ evt: 'closed' });
      setTimeout(() => process.exit(0), 100);
      return;
  }
});

process.on('disconnect', () => process.exit(0));
