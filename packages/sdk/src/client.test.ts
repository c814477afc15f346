import type { ChannelSummary, ClientFrame, Message, ServerFrame, SyncResponse, WelcomeFrame } from '@confab/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeHistory, msg } from '../test/support.js';
import { ConfabClient, type ClientEvents, type ConfabClientOptions } from './client.js';
import type { FetchLike } from './http.js';
import type { SyncState } from './sync.js';

/** A scripted WebSocket: the test plays the server by calling its methods. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: ClientFrame[] = [];
  closedWith: number | undefined;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.all.push(this);
  }

  static get last(): FakeSocket {
    const s = FakeSocket.all.at(-1);
    if (!s) throw new Error('no socket opened');
    return s;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    const frame = JSON.parse(data) as ClientFrame;
    this.sent.push(frame);
    if (frame.type === 'sync') void http.answerSync(this, frame);
  }

  close(code?: number): void {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }

  // --- server side ---
  accept(over: Partial<WelcomeFrame> = {}): void {
    this.readyState = 1;
    this.onopen?.({});
    this.push({
      type: 'welcome',
      userId: 'u_me',
      deviceId: 'd_me',
      nodeId: 'n1',
      connectionId: `conn${FakeSocket.all.length}`,
      heartbeatMs: 1_000,
      presenceTimeoutMs: 3_000,
      serverTime: 0,
      limits: { maxMessageCodePoints: 100_000, maxFrameBytes: 604_096, maxGroupMembers: 100 },
      ...over,
    });
  }

  push(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  framesOf<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }
}

/** The HTTP side of the fake server. */
class FakeHttp {
  history = new FakeHistory();
  channels: ChannelSummary[] = [];
  syncPages = new Map<string, SyncResponse>();
  tokenValid = true;
  down = false;
  /** How the fake server treats `sync` frames: answer them, refuse them as an older server would, or never answer. */
  socketSync: 'answer' | 'unknown' | 'silent' = 'answer';
  /** What `GET /v1/connect` answers; null: a server without discovery (404). */
  node: { nodeId: string; url: string } | null = null;
  readonly requests: string[] = [];

  /** The server's side of a `sync` frame: the same page as over HTTP, with the messages after `have`. */
  async answerSync(ws: FakeSocket, frame: Extract<ClientFrame, { type: 'sync' }>): Promise<void> {
    this.requests.push(`ws:sync?cursor=${frame.cursor}`);
    await Promise.resolve();
    if (this.socketSync === 'silent' || ws.readyState !== 1) return;
    if (this.socketSync === 'unknown') {
      ws.push({ type: 'error', code: 'unknown_frame', message: 'Unknown frame type "sync".', retryable: false, ref: frame.ref });
      return;
    }
    const page = this.syncPages.get(frame.cursor) ?? { cursor: frame.cursor, hasMore: false, channels: [] };
    const channels = page.channels.map((entry) => {
      const from = frame.have?.[entry.channelId];
      if (from === undefined || from >= entry.lastSeq) return entry;
      return { ...entry, messages: this.history.peekAfter(entry.channelId, from, Math.min(50, entry.lastSeq - from)) };
    });
    ws.push({ type: 'sync', ref: frame.ref, cursor: page.cursor, hasMore: page.hasMore, channels });
  }

  fetch: FetchLike = async (url) => {
    const u = new URL(url);
    this.requests.push(u.pathname + u.search);
    if (this.down) throw new TypeError('fetch failed');
    if (!this.tokenValid) return json(401, { code: 'unauthorized', message: 'bad token', retryable: false });
    if (u.pathname === '/v1/me') return json(200, { user: { id: 'u_me' } });
    if (u.pathname === '/v1/connect' && this.node) return json(200, this.node);
    if (u.pathname === '/v1/channels') return json(200, { channels: this.channels });
    if (u.pathname === '/v1/sync') {
      const cursor = u.searchParams.get('cursor');
      if (cursor === null) return json(200, { cursor: 'head', hasMore: false, channels: [] });
      return json(200, this.syncPages.get(cursor) ?? { cursor, hasMore: false, channels: [] });
    }
    const m = /^\/v1\/channels\/([^/]+)\/messages$/.exec(u.pathname);
    if (m) {
      const page = await this.history.fetchAfter(decodeURIComponent(m[1]!), Number(u.searchParams.get('after')), Number(u.searchParams.get('limit')));
      return json(200, page);
    }
    return json(404, { code: 'not_found', message: 'no route', retryable: false });
  };
}

function json(status: number, body: unknown) {
  return { status, text: async () => JSON.stringify(body) };
}

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

let http: FakeHttp;
let ids: number;

function makeClient(over: Partial<ConfabClientOptions> = {}) {
  const client = new ConfabClient({
    baseUrl: 'http://chat.test',
    token: 'secret-token',
    WebSocket: FakeSocket,
    fetch: http.fetch,
    clientId: () => `id${++ids}`,
    ...over,
  });
  const events: { [K in keyof ClientEvents]?: ClientEvents[K][] } = {};
  for (const name of ['message', 'state', 'terminal', 'error', 'read', 'left', 'sync-state', 'synced', 'typing', 'presence', 'receipts'] as const) {
    client.on(name, (p: unknown) => ((events[name] ??= []) as unknown[]).push(p));
  }
  const seqs = (ch: string) => (events.message ?? []).filter((m: Message) => m.channelId === ch).map((m: Message) => m.seq);
  return { client, events, seqs };
}

/** Connects a client and plays the welcome. */
async function connected(over: Partial<ConfabClientOptions> = {}) {
  const t = makeClient(over);
  const ready = t.client.connect();
  await tick();
  FakeSocket.last.accept();
  await ready;
  await tick();
  return t;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  FakeSocket.all = [];
  http = new FakeHttp();
  ids = 0;
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('ConfabClient connection', () => {
  it('bootstraps a fresh device over HTTP, then authenticates the socket by subprotocol', async () => {
    const { client, events } = makeClient();
    expect(client.state).toBe('idle');
    const ready = client.connect();
    expect(client.state).toBe('connecting');
    await tick();
    expect(http.requests).toEqual(['/v1/sync', '/v1/channels', '/v1/connect']);
    const ws = FakeSocket.last;
    expect(ws.url).toBe('ws://chat.test/v1/ws');
    expect(ws.protocols).toEqual(['confab.v1', 'confab.auth.secret-token']);
    expect(ws.url).not.toContain('secret-token');
    ws.accept();
    await ready;
    expect(client.state).toBe('open');
    expect(client.welcome?.deviceId).toBe('d_me');
    await tick();
    expect(events.state).toEqual(['connecting', 'open']);
    expect(client.getSyncState().cursor).toBe('head');
    expect(events.synced).toHaveLength(1);
  });

  it('opens the socket to the node that discovery names, asking again on every reconnect', async () => {
    http.node = { nodeId: 'n2', url: 'https://node2.chat.test' };
    const { client } = makeClient();
    const ready = client.connect();
    await tick();
    expect(FakeSocket.last.url).toBe('wss://node2.chat.test/v1/ws');
    FakeSocket.last.accept();
    await ready;
    http.node = { nodeId: 'n3', url: 'http://node3.chat.test:8080' };
    FakeSocket.last.drop(1012, 'draining');
    await tick(1_000);
    expect(FakeSocket.last.url).toBe('ws://node3.chat.test:8080/v1/ws');
    expect(http.requests.filter((r) => r === '/v1/connect')).toHaveLength(2);
    client.close();
  });

  it('reconnects with jittered backoff after a drop and resets the backoff after a welcome', async () => {
    const { client, events } = await connected({ reconnect: { initialDelayMs: 1_000, maxDelayMs: 8_000 } });
    FakeSocket.last.drop(1006);
    expect(client.state).toBe('reconnecting');
    // Math.random is 0.5: the first delay is 500 of a possible 0..1000.
    await tick(499);
    expect(FakeSocket.all).toHaveLength(1);
    await tick(1);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.drop(1006); // failed before welcome: the token is checked, then a longer delay
    await tick(999);
    expect(FakeSocket.all).toHaveLength(2);
    await tick(1);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.last.accept();
    await tick();
    expect(client.state).toBe('open');
    FakeSocket.last.drop(1012);
    await tick(500);
    expect(FakeSocket.all).toHaveLength(4);
    expect(events.state).toEqual(['connecting', 'open', 'reconnecting', 'open', 'reconnecting']);
  });

  it('reconnects immediately on a reconnect frame', async () => {
    const { client } = await connected();
    const old = FakeSocket.last;
    old.push({ type: 'reconnect', reason: 'draining' });
    expect(old.closedWith).toBe(1000);
    expect(client.state).toBe('reconnecting');
    await tick(0);
    expect(FakeSocket.all).toHaveLength(2);
    old.drop(1012); // the old socket's late close is ignored
    FakeSocket.last.accept();
    await tick();
    expect(client.state).toBe('open');
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('stops on a terminal close code: terminal event, no reconnect, pending sends rejected', async () => {
    const { client, events } = await connected();
    FakeSocket.last.drop(1006);
    const pending = client.send('c1', 'hello');
    await tick(1_000);
    FakeSocket.last.accept();
    FakeSocket.last.drop(4003, 'session revoked');
    await expect(pending).rejects.toMatchObject({ code: 'unauthorized' });
    expect(client.state).toBe('closed');
    expect(events.terminal).toEqual([{ code: 4003, reason: 'session revoked' }]);
    await tick(120_000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('treats a refused upgrade with an invalid token as terminal and rejects connect()', async () => {
    const { client, events } = makeClient({ syncState: { cursor: 'c0', have: {} } });
    const ready = client.connect();
    await tick();
    http.tokenValid = false;
    FakeSocket.last.drop(1006); // what every WebSocket API reports for an HTTP 401 upgrade response
    await expect(ready).rejects.toMatchObject({ code: 'unauthorized' });
    expect(events.terminal).toEqual([{ code: 4001, reason: 'bad token' }]);
    expect(client.state).toBe('closed');
  });

  it('keeps retrying while the server is unreachable, without rejecting connect()', async () => {
    http.down = true;
    const { client } = makeClient();
    let settled = false;
    const ready = client.connect().finally(() => (settled = true));
    await tick(60_000);
    expect(settled).toBe(false);
    expect(FakeSocket.all).toHaveLength(0); // the bootstrap never succeeded
    http.down = false;
    // The next attempt comes within one maximum backoff delay.
    for (let waited = 0; FakeSocket.all.length === 0 && waited < 30_000; waited += 100) await tick(100);
    FakeSocket.last.accept();
    await ready;
    expect(client.state).toBe('open');
  });

  it('pings every heartbeat and reconnects after 2.5 heartbeats of silence', async () => {
    const { client } = await connected();
    const ws = FakeSocket.last;
    await tick(1_000);
    expect(ws.framesOf('ping')).toHaveLength(1);
    // Pongs keep it alive.
    for (let i = 0; i < 5; i++) {
      ws.push({ type: 'pong', serverTime: 0 });
      await tick(1_000);
    }
    expect(FakeSocket.all).toHaveLength(1);
    // Now the server goes silent: dead after 2.5 s since the last frame.
    await tick(1_500);
    expect(ws.closedWith).toBe(1000);
    expect(client.state).toBe('reconnecting');
    await tick(250);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('close() stops for good and rejects pending sends', async () => {
    const { client, events } = await connected();
    const pending = client.send('c1', 'x');
    client.close();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    expect(client.state).toBe('closed');
    expect(FakeSocket.last.closedWith).toBe(1000);
    await tick(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(events.terminal).toBeUndefined();
    await expect(client.send('c1', 'y')).rejects.toMatchObject({ code: 'closed' });
  });

  it('close() before connecting rejects queued sends too', async () => {
    const { client } = makeClient();
    const queued = client.send('c1', 'x');
    client.close();
    await expect(queued).rejects.toMatchObject({ code: 'closed' });
    expect(client.state).toBe('closed');
  });
});

describe('ConfabClient sends', () => {
  it('rejects invalid text immediately without sending anything', async () => {
    const { client } = await connected();
    await expect(client.send('c1', '')).rejects.toMatchObject({ code: 'message_empty' });
    await expect(client.send('c1', '\ud800')).rejects.toMatchObject({ code: 'invalid_text' });
    await expect(client.send('c1', 'x'.repeat(100_001))).rejects.toMatchObject({ code: 'message_too_long' });
    expect(FakeSocket.last.framesOf('send')).toEqual([]);
    expect(client.pendingSends).toBe(0);
  });

  it('resolves on ack with the client id', async () => {
    const { client } = await connected();
    const p = client.send('c1', 'hello');
    expect(FakeSocket.last.framesOf('send')).toEqual([{ type: 'send', id: 'id1', channelId: 'c1', text: 'hello' }]);
    FakeSocket.last.push({ type: 'ack', id: 'id1', channelId: 'c1', seq: 7, createdAt: 123, duplicate: false });
    await expect(p).resolves.toEqual({ channelId: 'c1', seq: 7, createdAt: 123, duplicate: false, clientId: 'id1' });
    expect(client.pendingSends).toBe(0);
  });

  it('queues sends made before connecting and sends them after the welcome', async () => {
    const { client } = makeClient();
    const p = client.send('c1', 'early', { clientId: 'mine' });
    const ready = client.connect();
    await tick();
    FakeSocket.last.accept();
    await ready;
    expect(FakeSocket.last.framesOf('send').map((f) => f.id)).toEqual(['mine']);
    FakeSocket.last.push({ type: 'ack', id: 'mine', channelId: 'c1', seq: 1, createdAt: 1, duplicate: false });
    await expect(p).resolves.toMatchObject({ clientId: 'mine' });
  });

  it('resends every unacknowledged send after a reconnect, with original ids, in original order', async () => {
    const { client } = await connected();
    const first = FakeSocket.last;
    const a = client.send('c1', 'a');
    const b = client.send('c2', 'b');
    const c = client.send('c1', 'c');
    first.push({ type: 'ack', id: 'id2', channelId: 'c2', seq: 4, createdAt: 1, duplicate: false });
    first.drop(1006);
    const d = client.send('c1', 'd'); // made while offline
    let rejected = false;
    void Promise.allSettled([a, c, d]).then((r) => (rejected = r.some((x) => x.status === 'rejected')));
    await tick(250);
    const second = FakeSocket.last;
    expect(second).not.toBe(first);
    expect(second.framesOf('send')).toEqual([]); // nothing before the welcome
    second.accept();
    expect(second.framesOf('send').map((f) => [f.id, f.text])).toEqual([
      ['id1', 'a'],
      ['id3', 'c'],
      ['id4', 'd'],
    ]);
    second.push({ type: 'ack', id: 'id1', channelId: 'c1', seq: 1, createdAt: 1, duplicate: true });
    second.push({ type: 'ack', id: 'id3', channelId: 'c1', seq: 2, createdAt: 1, duplicate: false });
    second.push({ type: 'ack', id: 'id4', channelId: 'c1', seq: 3, createdAt: 1, duplicate: false });
    await expect(a).resolves.toMatchObject({ seq: 1, duplicate: true });
    await expect(b).resolves.toMatchObject({ seq: 4 });
    await expect(c).resolves.toMatchObject({ seq: 2 });
    await expect(d).resolves.toMatchObject({ seq: 3 });
    expect(rejected).toBe(false);
  });

  it('rejects on a permanent error frame; keeps and retries a retryable one', async () => {
    const { client } = await connected();
    const ws = FakeSocket.last;
    const denied = client.send('c1', 'x');
    const limited = client.send('c1', 'y');
    ws.push({ type: 'error', code: 'not_member', message: 'nope', retryable: false, id: 'id1' });
    ws.push({ type: 'error', code: 'rate_limited', message: 'slow', retryable: true, id: 'id2' });
    await expect(denied).rejects.toMatchObject({ code: 'not_member', status: 403 });
    expect(client.pendingSends).toBe(1);
    await tick(250); // retried after a backoff pause on the same socket
    expect(ws.framesOf('send').map((f) => f.id)).toEqual(['id1', 'id2', 'id2']);
    ws.drop(1006);
    await tick(250);
    FakeSocket.last.accept();
    expect(FakeSocket.last.framesOf('send').map((f) => f.id)).toEqual(['id2']);
    FakeSocket.last.push({ type: 'ack', id: 'id2', channelId: 'c1', seq: 1, createdAt: 1, duplicate: false });
    await expect(limited).resolves.toMatchObject({ clientId: 'id2' });
  });
});

describe('ConfabClient rate limits', () => {
  it('resends a rate-limited send exactly after the server\'s retryAfterMs, with everything queued behind it in order', async () => {
    const { client } = await connected();
    const ws = FakeSocket.last;
    const first = client.send('c1', 'one');
    ws.push({ type: 'error', code: 'rate_limited', message: 'slow down', retryable: true, retryAfterMs: 1_200, id: 'id1' });
    await tick();
    const second = client.send('c1', 'two');
    await tick(1_199);
    expect(ws.framesOf('send').map((f) => f.id)).toEqual(['id1']);
    await tick(1);
    expect(ws.framesOf('send').map((f) => f.id)).toEqual(['id1', 'id1', 'id2']);
    ws.push({ type: 'ack', id: 'id1', channelId: 'c1', seq: 1, createdAt: 1, duplicate: false });
    ws.push({ type: 'ack', id: 'id2', channelId: 'c1', seq: 2, createdAt: 1, duplicate: false });
    await expect(first).resolves.toMatchObject({ seq: 1 });
    await expect(second).resolves.toMatchObject({ seq: 2 });
  });
});

describe('ConfabClient send order', () => {
  it('queues new sends behind a refused one, so they go out in the order they were made', async () => {
    const { client } = await connected();
    const ws = FakeSocket.last;
    const first = client.send('c1', 'one');
    ws.push({ type: 'error', code: 'unavailable', message: 'db restarting', retryable: true, id: 'id1' });
    await tick();
    const second = client.send('c1', 'two');
    expect(ws.framesOf('send').map((f) => f.id)).toEqual(['id1']);
    await tick(250);
    expect(ws.framesOf('send').map((f) => f.id)).toEqual(['id1', 'id1', 'id2']);
    ws.push({ type: 'ack', id: 'id1', channelId: 'c1', seq: 1, createdAt: 1, duplicate: false });
    ws.push({ type: 'ack', id: 'id2', channelId: 'c1', seq: 2, createdAt: 1, duplicate: false });
    await expect(first).resolves.toMatchObject({ seq: 1 });
    await expect(second).resolves.toMatchObject({ seq: 2 });
  });
});

describe('ConfabClient messages', () => {
  it('emits live messages in order, fills gaps from history, drops duplicates', async () => {
    http.channels = [{ ...channel('c1'), lastSeq: 2 }];
    http.history.fill('c1', 6);
    const { seqs } = await connected();
    const ws = FakeSocket.last;
    ws.push({ type: 'message', message: msg('c1', 3) });
    ws.push({ type: 'message', message: msg('c1', 3) });
    ws.push({ type: 'message', message: msg('c1', 6) });
    expect(seqs('c1')).toEqual([3]);
    await tick();
    expect(seqs('c1')).toEqual([3, 4, 5, 6]);
    expect(http.requests).toContain('/v1/channels/c1/messages?after=3&limit=2');
  });

  it('coalesces delivered acks per channel', async () => {
    http.channels = [channel('c1'), channel('c2')];
    const { seqs } = await connected();
    const ws = FakeSocket.last;
    for (let s = 1; s <= 5; s++) ws.push({ type: 'message', message: msg('c1', s) });
    ws.push({ type: 'message', message: msg('c2', 1) });
    expect(seqs('c1')).toEqual([1, 2, 3, 4, 5]);
    expect(ws.framesOf('delivered')).toEqual([]);
    await tick(100);
    expect(ws.framesOf('delivered')).toEqual([
      { type: 'delivered', channelId: 'c1', seq: 5 },
      { type: 'delivered', channelId: 'c2', seq: 1 },
    ]);
    ws.push({ type: 'message', message: msg('c1', 6) });
    await tick(100);
    expect(ws.framesOf('delivered').at(-1)).toEqual({ type: 'delivered', channelId: 'c1', seq: 6 });
    expect(ws.framesOf('delivered')).toHaveLength(3);
  });

  it('resumes from a saved state: replays what was missed, then reports read and left', async () => {
    http.history.fill('c1', 10).fill('c2', 3);
    http.syncPages.set('saved', { cursor: 'p2', hasMore: true, channels: [{ channelId: 'c1', lastSeq: 10, joinedSeq: 1, readSeq: 9, left: false, mutedUntil: null }] });
    http.syncPages.set('p2', { cursor: 'p3', hasMore: false, channels: [{ channelId: 'c2', lastSeq: 3, joinedSeq: 2, readSeq: 0, left: true, mutedUntil: null }] });
    const persisted: SyncState[] = [];
    const { client, events, seqs } = await connected({
      syncState: { cursor: 'saved', have: { c1: 7 } },
      onSyncState: (s) => persisted.push(s),
    });
    expect(http.requests.filter((r) => r !== '/v1/connect')[0]).toBe('ws:sync?cursor=saved'); // no bootstrap for a known device
    expect(FakeSocket.last.framesOf('sync')[0]).toEqual({ type: 'sync', ref: 's1', cursor: 'saved', have: { c1: 7 } });
    expect(seqs('c1')).toEqual([8, 9, 10]);
    // c1's missed messages came with the sync page; c2 was not named in `have`, so history filled it.
    expect(http.history.calls.map((c) => c.channelId)).toEqual(['c2']);
    expect(seqs('c2')).toEqual([2, 3]);
    expect(events.read).toEqual([
      { channelId: 'c1', readSeq: 9 },
      { channelId: 'c2', readSeq: 0 },
    ]);
    expect(events.left).toEqual([{ channelId: 'c2' }]);
    expect(client.getSyncState()).toEqual({ cursor: 'p3', have: { c1: 10, c2: 3 } });
    expect(persisted.at(-1)).toEqual({ cursor: 'p3', have: { c1: 10, c2: 3 } });
    expect(events['sync-state']?.at(-1)).toEqual(persisted.at(-1));
  });

  it('syncs over HTTP against a server that predates sync frames, and stops asking it', async () => {
    http.socketSync = 'unknown';
    http.history.fill('c1', 4);
    http.syncPages.set('saved', { cursor: 'p2', hasMore: false, channels: [{ channelId: 'c1', lastSeq: 4, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }] });
    const { client, events, seqs } = await connected({ syncState: { cursor: 'saved', have: { c1: 1 } } });
    expect(seqs('c1')).toEqual([2, 3, 4]);
    expect(http.requests.filter((r) => r.includes('sync'))).toEqual(['ws:sync?cursor=saved', '/v1/sync?cursor=saved']);
    await client.sync();
    expect(http.requests.filter((r) => r.includes('sync'))).toEqual(['ws:sync?cursor=saved', '/v1/sync?cursor=saved', '/v1/sync?cursor=p2']);
    expect(events.error).toBeUndefined();
  });

  it('a sync frame lost with its socket is not an error: the next connection syncs again', async () => {
    http.socketSync = 'silent';
    http.history.fill('c1', 3);
    http.syncPages.set('saved', { cursor: 'p2', hasMore: false, channels: [{ channelId: 'c1', lastSeq: 3, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }] });
    const { client, events, seqs } = await connected({ syncState: { cursor: 'saved', have: { c1: 0 } } });
    expect(seqs('c1')).toEqual([]);
    http.socketSync = 'answer';
    FakeSocket.last.drop(1006);
    await tick(250);
    FakeSocket.last.accept();
    await tick();
    expect(seqs('c1')).toEqual([1, 2, 3]);
    expect(client.getSyncState()).toEqual({ cursor: 'p2', have: { c1: 3 } });
    expect(events.error).toBeUndefined();
    expect(http.history.calls).toEqual([]);
  });

  it('reads from history what a sync page did not carry (budgets), once and in order', async () => {
    http.history.fill('c1', 80);
    http.syncPages.set('saved', { cursor: 'p2', hasMore: false, channels: [{ channelId: 'c1', lastSeq: 80, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }] });
    const { seqs } = await connected({ syncState: { cursor: 'saved', have: { c1: 10 } } });
    expect(seqs('c1')).toEqual(Array.from({ length: 70 }, (_, i) => 11 + i));
    expect(http.history.calls).toEqual([{ channelId: 'c1', after: 60, limit: 20 }]);
  });

  it('a message for an unknown channel triggers a sync that covers it', async () => {
    const { seqs } = await connected();
    http.history.fill('new', 2);
    http.syncPages.set('head', { cursor: 'h2', hasMore: false, channels: [{ channelId: 'new', lastSeq: 2, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }] });
    FakeSocket.last.push({ type: 'message', message: msg('new', 2) });
    await tick();
    expect(seqs('new')).toEqual([1, 2]);
  });

  it('syncs again after a reconnect and emits only what was missed', async () => {
    http.channels = [{ ...channel('c1'), lastSeq: 1 }];
    const { seqs } = await connected();
    FakeSocket.last.push({ type: 'message', message: msg('c1', 2) });
    FakeSocket.last.drop(1006);
    http.history.fill('c1', 5);
    http.syncPages.set('head', { cursor: 'h2', hasMore: false, channels: [{ channelId: 'c1', lastSeq: 5, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }] });
    await tick(250);
    FakeSocket.last.accept();
    FakeSocket.last.push({ type: 'message', message: msg('c1', 5) }); // live, while the sync runs
    await tick();
    expect(seqs('c1')).toEqual([2, 3, 4, 5]);
  });

  it('retries a failed sync after a pause while the socket stays open', async () => {
    const { client, events, seqs } = await connected();
    http.history.fill('c1', 2);
    http.syncPages.set('head', { cursor: 'h2', hasMore: false, channels: [{ channelId: 'c1', lastSeq: 2, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }] });
    http.down = true;
    const failed = client.sync();
    await expect(failed).rejects.toMatchObject({ code: 'network_error' });
    expect(events.error?.at(-1)).toMatchObject({ code: 'network_error' });
    http.down = false;
    await tick(250);
    expect(seqs('c1')).toEqual([1, 2]);
    expect(client.getSyncState().cursor).toBe('h2');
  });

  it('turns a throwing listener into an error event without losing order', async () => {
    http.channels = [channel('c1')];
    const { client, events, seqs } = await connected();
    client.on('message', (m) => {
      if (m.seq === 1) throw new Error('app bug');
    });
    FakeSocket.last.push({ type: 'message', message: msg('c1', 1) });
    FakeSocket.last.push({ type: 'message', message: msg('c1', 2) });
    expect(seqs('c1')).toEqual([1, 2]);
    expect(events.error?.map((e) => e.message)).toEqual(['app bug']);
  });

  it('passes receipts, presence and typing through', async () => {
    const { events } = await connected();
    const ws = FakeSocket.last;
    ws.push({ type: 'receipts', channelId: 'c1', receipts: [{ userId: 'u2', deliveredSeq: 3, readSeq: 2 }] });
    ws.push({ type: 'presence', userId: 'u2', online: true, lastSeen: null });
    ws.push({ type: 'typing', channelId: 'c1', userId: 'u2' });
    expect(events.receipts).toEqual([{ channelId: 'c1', receipts: [{ userId: 'u2', deliveredSeq: 3, readSeq: 2 }] }]);
    expect(events.presence).toEqual([{ userId: 'u2', online: true, lastSeen: null }]);
    expect(events.typing).toEqual([{ channelId: 'c1', userId: 'u2' }]);
  });
});

describe('ConfabClient read and typing', () => {
  it('throttles typing to one frame per 3 s per channel', async () => {
    const { client } = await connected({ heartbeatMs: 60_000 });
    const ws = FakeSocket.last;
    client.typing('c1');
    client.typing('c1');
    client.typing('c2');
    await tick(2_999);
    client.typing('c1');
    await tick(1);
    client.typing('c1');
    expect(ws.framesOf('typing').map((f) => f.channelId)).toEqual(['c1', 'c2', 'c1']);
  });

  it('sends markRead now when open; offline keeps only the latest per channel for after the reconnect', async () => {
    const { client } = await connected();
    client.markRead('c1', 3);
    expect(FakeSocket.last.framesOf('read')).toEqual([{ type: 'read', channelId: 'c1', seq: 3 }]);
    FakeSocket.last.drop(1006);
    client.markRead('c1', 5);
    client.markRead('c1', 4);
    client.markRead('c2', 1);
    client.typing('c1'); // dropped offline
    await tick(250);
    FakeSocket.last.accept();
    expect(FakeSocket.last.framesOf('read')).toEqual([
      { type: 'read', channelId: 'c1', seq: 5 },
      { type: 'read', channelId: 'c2', seq: 1 },
    ]);
    expect(FakeSocket.last.framesOf('typing')).toEqual([]);
  });
});

function channel(id: string): ChannelSummary {
  return { id, kind: 'group', name: id, createdAt: 0, memberCount: 2, lastSeq: 0, lastMessage: null, role: 'member', joinedSeq: 1, readSeq: 0, unreadCount: 0, left: false, mutedUntil: null };
}
