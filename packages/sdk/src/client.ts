/**
 * The Confab realtime client: one WebSocket with reconnects, an outbox of
 * idempotent sends, and a sync that delivers every message exactly once per
 * channel, in order, across reconnects and restarts.
 *
 * ```ts
 * import WebSocket from 'ws'; // Node only; browsers and React Native have a global WebSocket
 * import { ConfabApi, ConfabClient } from '@confab/sdk';
 *
 * const api = new ConfabApi({ baseUrl: 'https://chat.example.com' });
 * const { token } = await api.login({ username: 'ada', password: '…', deviceName: 'laptop' });
 *
 * const client = new ConfabClient({
 *   baseUrl: 'https://chat.example.com',
 *   token,
 *   WebSocket,
 *   syncState: JSON.parse(localStorage.getItem('confab-sync') ?? 'null'),
 *   onSyncState: (s) => localStorage.setItem('confab-sync', JSON.stringify(s)),
 * });
 * client.on('message', (m) => render(m));
 * client.on('terminal', () => showLogin());
 * await client.connect();
 *
 * const channel = await client.api.openDirect(friendId);
 * const ack = await client.send(channel.id, 'hello'); // resolves once durable, survives reconnects
 * client.markRead(channel.id, ack.seq);
 * ```
 */
import {
  AUTH_SUBPROTOCOL_PREFIX,
  CloseCode,
  MAX_RESUME_HAVE,
  PROTOCOL_NAME,
  WS_PATH,
  checkMessageText,
  isTerminalClose,
  type ClientFrame,
  type ErrorFrame,
  type Message,
  type Presence,
  type Receipt,
  type ServerFrame,
  type SyncPageFrame,
  type SyncQuery,
  type WelcomeFrame,
} from '@confab/protocol';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { ChannelStreams, StreamsStoppedError } from './channel-stream.js';
import { Emitter, rethrowLater, type Listener } from './emitter.js';
import { ConfabError, isConfabError } from './errors.js';
import { ConfabApi, type FetchLike } from './http.js';
import { defaultClientId, isValidClientId } from './ids.js';
import { Outbox, type SendAck } from './outbox.js';
import { Signals } from './signals.js';
import { WS_OPEN, webSocketUrl, type WebSocketConstructor, type WebSocketLike } from './socket.js';
import { SyncEngine, type SyncPage, type SyncState } from './sync.js';

/** A socket sync whose socket went away; the next welcome syncs again, so it is not reported. */
class SocketLostError extends ConfabError {
  constructor() {
    super('network_error', 'The connection was lost during the sync.');
  }
}

interface PendingSync {
  resolve: (page: SyncPage) => void;
  reject: (err: ConfabError) => void;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConfabClientOptions {
  /** e.g. `https://chat.example.com`; the socket URL is derived from it. */
  baseUrl: string;
  token: string;
  /** Defaults to globalThis.WebSocket. Node 20 has none: pass `WebSocket` from the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Defaults to globalThis.fetch. */
  fetch?: FetchLike;
  /** Upper bounds of the jittered reconnect delay (defaults 500 ms and 30 s). */
  reconnect?: Partial<BackoffOptions>;
  /** Ping interval; defaults to the server's value from `welcome`. */
  heartbeatMs?: number;
  /** A state saved from `getSyncState()` / `onSyncState`, to resume without replay or loss. */
  syncState?: SyncState | null;
  /** Called (at most once per tick) whenever the sync state changed; persist it. */
  onSyncState?: (state: SyncState) => void;
  /** Generates client ids for sends (default: crypto.randomUUID, with a fallback). */
  clientId?: () => string;
  /**
   * Ask the server which chat node to open the WebSocket to (`GET /v1/connect`)
   * before every connection attempt (default true). HTTP calls keep using baseUrl.
   */
  discovery?: boolean;
  /** Give up on a connection attempt that has not produced `welcome` after this long (default 15 s). */
  connectTimeoutMs?: number;
  /** Timeout of each HTTP request (default 30 s). */
  requestTimeoutMs?: number;
}

export interface ClientEvents {
  /** Once per (channelId, seq); per channel strictly in seq order, without gaps. */
  message: Message;
  receipts: { channelId: string; receipts: Receipt[] };
  presence: Presence;
  typing: { channelId: string; userId: string };
  state: ConnectionState;
  /** A sync reported that this user is no longer a member. */
  left: { channelId: string };
  /** A sync reported the read position (possibly moved by another device of this user). */
  read: { channelId: string; readSeq: number };
  /** The channel's mute setting, live or from a sync (possibly changed by another device of this user). */
  muted: { channelId: string; mutedUntil: number | null };
  /** Something unexpected; the client keeps running. */
  error: Error;
  /** The session ended (token unknown or revoked). The client is closed and will not reconnect. */
  terminal: { code: number; reason: string };
  /** The persistable state changed. */
  'sync-state': SyncState;
  /** A connection was (re)established. */
  welcome: WelcomeFrame;
  /** A sync run completed: everything committed before it started has been emitted. */
  synced: SyncState;
}

export interface SendOptions {
  /** Reuse an id to make an app-level retry idempotent. */
  clientId?: string;
}

/** Silence, in heartbeats, after which the socket is presumed dead (pongs come back every heartbeat). */
const DEAD_AFTER_HEARTBEATS = 2.5;
/** Internal "abnormal closure" for sockets we abandon ourselves; never terminal. */
const ABNORMAL_CLOSE = 1006;

interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: ConfabError) => void;
}

export class ConfabClient {
  readonly api: ConfabApi;

  private readonly events: Emitter<ClientEvents>;
  private readonly streams: ChannelStreams;
  private readonly engine: SyncEngine;
  private readonly outbox = new Outbox();
  private readonly backoff: Backoff;
  private readonly syncBackoff: Backoff;
  private readonly sendBackoff: Backoff;
  private readonly WS: WebSocketConstructor;
  private readonly newClientId: () => string;
  private token: string;

  private _state: ConnectionState = 'idle';
  private ws: WebSocketLike | null = null;
  /** Bumped whenever a socket or attempt is abandoned, so its late events are ignored. */
  private gen = 0;
  private welcomed = false;
  private everOpen = false;
  private stopped = true;
  private waiter: Waiter | null = null;
  private lastWelcome: WelcomeFrame | null = null;
  private stateDirty = false;
  /** Sync frames awaiting their answer on the current socket, by ref. */
  private readonly pendingSyncs = new Map<string, PendingSync>();
  private syncRefs = 0;
  /** The server answered a `sync` frame with `unknown_frame` (it predates them): sync over HTTP. */
  private socketSyncUnsupported = false;

  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private watchdogTimer: ReturnType<typeof setTimeout> | null = null;
  private syncRetryTimer: ReturnType<typeof setTimeout> | null = null;
  private sendRetryTimer: ReturnType<typeof setTimeout> | null = null;

  private readonly signals = new Signals((frame) => this.transmit(frame));

  constructor(private readonly opts: ConfabClientOptions) {
    const WS = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new TypeError('No WebSocket implementation: pass options.WebSocket (e.g. from the "ws" package).');
    this.WS = WS;
    this.token = opts.token;
    this.newClientId = opts.clientId ?? defaultClientId;
    this.api = new ConfabApi({
      baseUrl: opts.baseUrl,
      token: opts.token,
      clientId: this.newClientId,
      ...(opts.fetch && { fetch: opts.fetch }),
      ...(opts.requestTimeoutMs !== undefined && { timeoutMs: opts.requestTimeoutMs }),
    });
    const backoffOpts = { ...DEFAULT_BACKOFF, ...opts.reconnect };
    this.backoff = new Backoff(backoffOpts);
    this.syncBackoff = new Backoff(backoffOpts);
    this.sendBackoff = new Backoff(backoffOpts);

    // A throwing app listener becomes an `error` event; a throwing `error` listener is reported by the platform.
    this.events = new Emitter<ClientEvents>((err, event) => {
      if (event === 'error') rethrowLater(err);
      else this.events.emit('error', toError(err));
    });

    this.streams = new ChannelStreams({
      fetchAfter: (channelId, after, limit) => this.api.history(channelId, { after, limit }),
      emit: (m) => this.deliver(m),
      onFillError: (err) => this.backgroundFailed(err),
    });
    for (const [channelId, seq] of Object.entries(opts.syncState?.have ?? {})) {
      if (Number.isSafeInteger(seq) && seq >= 0) this.streams.setHave(channelId, seq);
    }
    this.engine = new SyncEngine({
      api: { sync: (query) => this.syncPage(query), channels: () => this.api.channels() },
      streams: this.streams,
      cursor: opts.syncState?.cursor ?? null,
      onCursor: () => this.syncStateChanged(),
      onEntry: (entry) => {
        this.events.emit('read', { channelId: entry.channelId, readSeq: entry.readSeq });
        this.events.emit('muted', { channelId: entry.channelId, mutedUntil: entry.mutedUntil ?? null });
        if (entry.left) this.events.emit('left', { channelId: entry.channelId });
      },
      onSkip: (err) => this.events.emit('error', toError(err)),
    });
  }

  // --- public API ---------------------------------------------------------------

  get state(): ConnectionState {
    return this._state;
  }

  /** The latest `welcome` (user id, device id, server limits), or null before the first. */
  get welcome(): WelcomeFrame | null {
    return this.lastWelcome;
  }

  /** Sends not yet acknowledged by the server. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.events.on(event, listener);
  }

  once<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.events.once(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): void {
    this.events.off(event, listener);
  }

  /**
   * Starts the connection (if needed) and resolves on the next `welcome`.
   * Rejects with ConfabError `unauthorized` when the session turns out to be
   * invalid, or `closed` when close() is called first. Network failures do not
   * reject: the client keeps retrying.
   */
  connect(): Promise<void> {
    if (this._state === 'open') return Promise.resolve();
    if (!this.waiter) this.waiter = createWaiter();
    const { promise } = this.waiter;
    if (this._state === 'idle' || this._state === 'closed') this.start();
    return promise;
  }

  /** Stops for good: no reconnect; pending sends reject with `closed`. connect() may start again. */
  close(): void {
    this.signals.flush();
    this.shutdown(new ConfabError('closed'));
    this.setState('closed');
  }

  /** Replaces the token used for the next connection and for HTTP calls. */
  setToken(token: string): void {
    this.token = token;
    this.api.setToken(token);
  }

  /**
   * Sends a text message. Resolves once the server committed it. Survives
   * reconnects (resent with the same client id, so never duplicated). Rejects
   * only on a permanent refusal, or when the client is closed.
   */
  send(channelId: string, text: string, opts: SendOptions = {}): Promise<SendAck> {
    const refusal = checkMessageText(text, this.lastWelcome?.limits.maxMessageCodePoints);
    if (refusal) return Promise.reject(new ConfabError(refusal));
    if (!isChannelId(channelId)) return Promise.reject(new ConfabError('bad_request', 'Invalid channel id.'));
    const clientId = opts.clientId ?? this.newClientId();
    if (!isValidClientId(clientId)) return Promise.reject(new ConfabError('bad_request', 'A client id is 1–64 printable ASCII characters.'));
    if (this._state === 'closed') return Promise.reject(new ConfabError('closed'));
    const { entry, promise, added } = this.outbox.add(clientId, channelId, text);
    // While refused sends wait for their retry, newer ones queue behind them,
    // so a device's messages keep the order in which the user wrote them.
    if (added && !this.sendRetryTimer) this.writeSend(entry);
    return promise;
  }

  /** Reports that the user read up to `seq`. Offline, the latest per channel is sent after reconnecting. */
  markRead(channelId: string, seq: number): void {
    if (!isChannelId(channelId) || !Number.isSafeInteger(seq) || seq < 0) throw new ConfabError('bad_request', 'Invalid channel id or seq.');
    if (this._state !== 'closed') this.signals.markRead(channelId, seq);
  }

  /** Signals typing; call on every keystroke, frames go out at most once per 3 s per channel. Dropped offline. */
  typing(channelId: string): void {
    if (!isChannelId(channelId)) throw new ConfabError('bad_request', 'Invalid channel id.');
    this.signals.typing(channelId);
  }

  /** The state to persist: pass it back as `syncState` to resume. */
  getSyncState(): SyncState {
    return { cursor: this.engine.cursor, have: this.streams.snapshot() };
  }

  /**
   * Runs a sync now (or once more after the running one), e.g. when an app
   * returns to the foreground. Resolves when it completed; rejects if it failed.
   */
  sync(): Promise<void> {
    return this.requestSync();
  }

  // --- connection lifecycle -----------------------------------------------------------

  private start(): void {
    this.stopped = false;
    this.everOpen = false;
    this.streams.start();
    this.backoff.reset();
    this.setState('connecting');
    void this.attempt();
  }

  private async attempt(): Promise<void> {
    const gen = ++this.gen;
    if (this.engine.cursor === null) {
      // A fresh device takes its starting point before the socket exists, so that
      // everything committed after connect() resolves is delivered (see SyncEngine.bootstrap).
      try {
        await this.engine.bootstrap();
      } catch (err) {
        if (gen === this.gen && !this.stopped) this.attemptFailed(err);
        return;
      }
      if (gen !== this.gen || this.stopped) return;
    }
    let nodeUrl = this.api.baseUrl;
    if (this.opts.discovery !== false) {
      // Ask which chat node to use (the least loaded healthy one); every
      // reconnect asks again, so clients of a dead or draining node spread out.
      try {
        nodeUrl = (await this.api.connectTarget()).url;
      } catch (err) {
        if (gen !== this.gen || this.stopped) return;
        if (isConfabError(err, 'unauthorized')) return this.attemptFailed(err);
        // A server without discovery, or a failed lookup: the base URL still works.
      }
      if (gen !== this.gen || this.stopped) return;
    }
    this.openSocket(gen, nodeUrl);
  }

  private openSocket(gen: number, nodeUrl: string): void {
    let ws: WebSocketLike;
    try {
      // The token travels as an offered subprotocol: browsers cannot set headers, and URLs end up in logs.
      ws = new this.WS(webSocketUrl(nodeUrl, WS_PATH), [PROTOCOL_NAME, AUTH_SUBPROTOCOL_PREFIX + this.token]);
    } catch (err) {
      this.events.emit('error', toError(err));
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    ws.onmessage = (ev: { data?: unknown }) => {
      if (gen === this.gen) this.onData(ev.data);
    };
    ws.onclose = (ev: { code?: number; reason?: string }) => {
      if (gen === this.gen) this.socketLost(ev.code ?? ABNORMAL_CLOSE, ev.reason ?? '');
    };
    // A close event always follows an error; the handler must exist because `ws` throws on unhandled errors.
    ws.onerror = noop;
    this.connectTimer = setTimeout(() => {
      if (gen === this.gen) this.socketLost(ABNORMAL_CLOSE, 'connect timeout');
    }, this.opts.connectTimeoutMs ?? 15_000);
  }

  /** The socket closed or was abandoned. Decides between stopping, reconnecting and checking the token. */
  private socketLost(code: number, reason: string): void {
    const wasWelcomed = this.welcomed;
    this.teardownSocket();
    if (this.stopped) return;
    if (isTerminalClose(code)) {
      this.terminate(code, reason);
      return;
    }
    if (wasWelcomed) {
      this.scheduleReconnect();
      return;
    }
    // The server refuses a bad token during the upgrade, which every WebSocket API
    // reports as a bare 1006. Only HTTP can tell "bad token" from "server down".
    void this.checkTokenThenReconnect();
  }

  private async checkTokenThenReconnect(): Promise<void> {
    const gen = this.gen;
    try {
      await this.api.me();
    } catch (err) {
      if (gen !== this.gen || this.stopped) return;
      if (isConfabError(err, 'unauthorized')) {
        this.terminate(CloseCode.UNAUTHORIZED, err.message);
        return;
      }
    }
    if (gen === this.gen && !this.stopped) this.scheduleReconnect();
  }

  private attemptFailed(err: unknown): void {
    if (isConfabError(err, 'unauthorized')) {
      this.terminate(CloseCode.UNAUTHORIZED, err.message);
      return;
    }
    // Unreachable servers are expected while reconnecting; anything else is worth reporting.
    if (!(err instanceof ConfabError && err.retryable) && !(err instanceof StreamsStoppedError)) this.events.emit('error', toError(err));
    this.scheduleReconnect();
  }

  private scheduleReconnect(delay = this.backoff.next()): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.setState(this.everOpen ? 'reconnecting' : 'connecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.attempt();
    }, delay);
  }

  /** Detaches and closes the current socket and everything tied to it. */
  private teardownSocket(): void {
    this.gen++;
    this.welcomed = false;
    this.clearTimer('connectTimer');
    this.clearTimer('watchdogTimer');
    this.clearTimer('syncRetryTimer');
    this.clearTimer('sendRetryTimer');
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    // Whatever was in flight may be lost; after the next welcome it all goes out again.
    this.outbox.markAllUnsent();
    if (this.pendingSyncs.size > 0) {
      const lost = [...this.pendingSyncs.values()];
      this.pendingSyncs.clear();
      for (const p of lost) p.reject(new SocketLostError());
    }
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = noop;
    // Abandoned sockets are closed but not awaited: a dead peer may never finish the closing handshake.
    if (ws.readyState < 2) {
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
  }

  /** The session is over (terminal close code or refused token): stop everything. */
  private terminate(code: number, reason: string): void {
    this.shutdown(new ConfabError('unauthorized', reason || 'The session is no longer valid.'));
    this.setState('closed');
    this.events.emit('terminal', { code, reason });
  }

  private shutdown(err: ConfabError): void {
    this.stopped = true;
    this.teardownSocket();
    this.clearTimer('reconnectTimer');
    this.streams.stop();
    this.signals.clear();
    this.outbox.rejectAll(err);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(err);
  }

  // --- incoming frames ----------------------------------------------------------------

  private onData(data: unknown): void {
    this.armWatchdog();
    if (typeof data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch (err) {
      this.events.emit('error', toError(err));
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    switch (frame.type) {
      case 'welcome':
        this.onWelcome(frame);
        return;
      case 'ack':
        if (this.outbox.ack(frame)) this.sendBackoff.reset();
        return;
      case 'error':
        this.onErrorFrame(frame);
        return;
      case 'sync':
        this.onSyncFrame(frame);
        return;
      case 'message':
        this.onLiveMessage(frame.message);
        return;
      case 'receipts':
        this.events.emit('receipts', { channelId: frame.channelId, receipts: frame.receipts });
        return;
      case 'presence':
        this.events.emit('presence', { userId: frame.userId, online: frame.online, lastSeen: frame.lastSeen });
        return;
      case 'typing':
        this.events.emit('typing', { channelId: frame.channelId, userId: frame.userId });
        return;
      case 'muted':
        this.events.emit('muted', { channelId: frame.channelId, mutedUntil: frame.mutedUntil });
        return;
      case 'reconnect':
        // The server is draining: move now rather than wait for its close, and without backoff.
        this.teardownSocket();
        this.scheduleReconnect(0);
        return;
      default:
        // pong (its arrival already fed the watchdog) and frame types newer than this SDK.
        return;
    }
  }

  private onWelcome(w: WelcomeFrame): void {
    this.clearTimer('connectTimer');
    this.welcomed = true;
    this.everOpen = true;
    this.lastWelcome = w;
    this.backoff.reset();
    const previous = this._state;
    this._state = 'open';
    this.startHeartbeat(this.opts.heartbeatMs ?? w.heartbeatMs);
    // Unacknowledged sends first, in their original order and before any listener
    // reacting to the state change can send something newer.
    for (const entry of this.outbox.unsent()) this.writeSend(entry);
    this.signals.connected();
    if (previous !== 'open') this.events.emit('state', 'open');
    this.events.emit('welcome', w);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.resolve();
    void this.requestSync();
  }

  private onErrorFrame(frame: ErrorFrame): void {
    const err = ConfabError.fromBody(frame);
    const pendingSync = frame.ref !== undefined ? this.pendingSyncs.get(frame.ref) : undefined;
    if (pendingSync) {
      this.pendingSyncs.delete(frame.ref!);
      pendingSync.reject(err);
      return;
    }
    if (frame.id !== undefined && this.outbox.has(frame.id)) {
      if (this.outbox.fail(frame.id, err) === 'retry') this.scheduleSendRetry(err.retryAfterMs);
      return;
    }
    this.events.emit('error', err);
  }

  private onSyncFrame(frame: SyncPageFrame): void {
    const pending = this.pendingSyncs.get(frame.ref);
    if (!pending) return;
    this.pendingSyncs.delete(frame.ref);
    pending.resolve({ cursor: frame.cursor, hasMore: frame.hasMore, channels: frame.channels });
  }

  private onLiveMessage(message: Message): void {
    if (this.streams.receive(message) === 'unknown') {
      // A channel we have never seen (e.g. we were just added): the sync explains it.
      this.engine.noteUnknown(message.channelId);
      void this.requestSync();
    }
  }

  // --- heartbeat ---------------------------------------------------------------------

  private startHeartbeat(heartbeatMs: number): void {
    const every = Math.max(100, heartbeatMs);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.transmit({ type: 'ping', t: Date.now() }), every);
    this.armWatchdog();
  }

  /** Re-armed by every incoming frame; fires only after 2.5 heartbeats of total silence. */
  private armWatchdog(): void {
    if (!this.welcomed) return;
    this.clearTimer('watchdogTimer');
    const every = Math.max(100, this.opts.heartbeatMs ?? this.lastWelcome?.heartbeatMs ?? 10_000);
    const gen = this.gen;
    this.watchdogTimer = setTimeout(() => {
      if (gen === this.gen) this.socketLost(ABNORMAL_CLOSE, 'heartbeat timeout');
    }, every * DEAD_AFTER_HEARTBEATS);
  }

  // --- outgoing frames ---------------------------------------------------------------

  /** Writes a frame if the connection is open (welcomed); false when it could not. */
  private transmit(frame: ClientFrame): boolean {
    const ws = this.ws;
    if (!ws || !this.welcomed || ws.readyState !== WS_OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private writeSend(entry: { clientId: string; channelId: string; text: string; sent: boolean }): void {
    if (this.transmit({ type: 'send', id: entry.clientId, channelId: entry.channelId, text: entry.text })) entry.sent = true;
  }

  /**
   * A retryable refusal (rate limit, overload): try the refused sends again
   * after a pause — exactly the server's retry-after for a rate limit (the
   * server holds the device back until then, so nothing queued behind can
   * overtake), else a growing backoff.
   */
  private scheduleSendRetry(retryAfterMs?: number): void {
    if (this.sendRetryTimer) return;
    this.sendRetryTimer = setTimeout(() => {
      this.sendRetryTimer = null;
      for (const entry of this.outbox.unsent()) this.writeSend(entry);
    }, retryAfterMs ?? this.sendBackoff.next());
  }

  // --- sync --------------------------------------------------------------------------

  /**
   * One sync page. On an open socket it is a `sync` frame naming what this
   * device holds, and the answer carries the missed messages too: a resume is
   * one round trip instead of a sync request plus a history request per
   * channel. Without a socket (or against a server without `sync` frames) it
   * is `GET /v1/sync`, and the engine fetches history itself.
   */
  private async syncPage(query: SyncQuery): Promise<SyncPage> {
    const ws = this.ws;
    if (query.cursor === undefined || this.socketSyncUnsupported || !ws || !this.welcomed || ws.readyState !== WS_OPEN) return this.api.sync(query);
    const have: Record<string, number> = {};
    let named = 0;
    for (const [channelId, seq] of Object.entries(this.streams.snapshot())) {
      if (named++ === MAX_RESUME_HAVE) break; // the rest are caught up from history
      have[channelId] = seq;
    }
    const ref = `s${++this.syncRefs}`;
    const answer = new Promise<SyncPage>((resolve, reject) => this.pendingSyncs.set(ref, { resolve, reject }));
    if (!this.transmit({ type: 'sync', ref, cursor: query.cursor, ...(query.limit !== undefined && { limit: query.limit }), have })) {
      this.pendingSyncs.delete(ref);
      return this.api.sync(query);
    }
    try {
      return await answer;
    } catch (err) {
      if (!isConfabError(err, 'unknown_frame')) throw err;
      this.socketSyncUnsupported = true;
      return this.api.sync(query);
    }
  }

  private requestSync(): Promise<void> {
    const alreadyRunning = this.engine.running;
    const run = this.engine.request();
    // Handlers once per run: a request during a run joins it (and makes it run once more).
    if (!alreadyRunning) {
      run.then(
        () => {
          this.syncBackoff.reset();
          this.events.emit('synced', this.getSyncState());
        },
        (err: unknown) => this.syncFailed(err),
      );
    }
    return run;
  }

  private syncFailed(err: unknown): void {
    if (err instanceof StreamsStoppedError || err instanceof SocketLostError || this.stopped) return;
    if (isConfabError(err, 'unauthorized')) {
      this.terminate(CloseCode.UNAUTHORIZED, err.message);
      return;
    }
    this.events.emit('error', toError(err));
    // While connected nothing else would trigger a sync; after a reconnect the welcome does.
    if (this._state === 'open' && !this.syncRetryTimer) {
      this.syncRetryTimer = setTimeout(() => {
        this.syncRetryTimer = null;
        void this.requestSync();
      }, this.syncBackoff.next());
    }
  }

  private backgroundFailed(err: unknown): void {
    if (isConfabError(err, 'unauthorized')) {
      this.terminate(CloseCode.UNAUTHORIZED, err.message);
      return;
    }
    this.events.emit('error', toError(err));
  }

  /** Every message reaches the app through here, exactly once and in order. */
  private deliver(message: Message): void {
    this.events.emit('message', message);
    this.signals.noteDelivered(message.channelId, message.seq);
    this.syncStateChanged();
  }

  /** Coalesces state notifications: a sync page emitting 200 messages persists once. */
  private syncStateChanged(): void {
    if (this.stateDirty) return;
    this.stateDirty = true;
    void Promise.resolve().then(() => {
      this.stateDirty = false;
      const state = this.getSyncState();
      try {
        this.opts.onSyncState?.(state);
      } catch (err) {
        this.events.emit('error', toError(err));
      }
      this.events.emit('sync-state', state);
    });
  }

  // --- helpers -----------------------------------------------------------------------

  private setState(state: ConnectionState): void {
    if (this._state === state) return;
    this._state = state;
    this.events.emit('state', state);
  }

  private clearTimer(name: 'reconnectTimer' | 'connectTimer' | 'watchdogTimer' | 'syncRetryTimer' | 'sendRetryTimer'): void {
    const t = this[name];
    if (t) clearTimeout(t);
    this[name] = null;
  }
}

function createWaiter(): Waiter {
  let resolve!: () => void;
  let reject!: (err: ConfabError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Handled here so a fire-and-forget connect() cannot crash Node; `terminal` reports the cause too.
  promise.catch(noop);
  return { promise, resolve, reject };
}

function isChannelId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= 64;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function noop(): void {}
