import { randomBytes } from 'node:crypto';
import {
  AUTH_SUBPROTOCOL_PREFIX,
  CloseCode,
  ERROR_CODES,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_CODE_POINTS,
  WS_PATH,
  type ClientFrame,
  type ErrorFrame,
} from '@confab/protocol';
import type { AccountsService, Session } from '../accounts/accounts-service.js';
import type { MessagesService } from '../messages/messages-service.js';
import type { ReceiptsService } from '../messages/receipts-service.js';
import type { PresenceService } from '../presence/presence-service.js';
import type { MembershipCache } from '../channels/membership-cache.js';
import { AppError, toErrorBody } from '../errors.js';
import type { Fanout } from './fanout.js';
import type { ClientSocket, ConnectionEvents } from './client-socket.js';
import { Connection, type ConnectionHandler } from './connection.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { decodeClientFrame } from './frame-decoder.js';

export interface GatewayLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface GatewayMetrics {
  connectionOpened(): void;
  connectionClosed(): void;
  bytesWritten(bytes: number): void;
  sendAck(seconds: number): void;
}

export interface GatewayDeps {
  accounts: AccountsService;
  messages: MessagesService;
  receipts: ReceiptsService;
  presence: PresenceService;
  members: MembershipCache;
  fanout: Fanout;
  /** Told which messages a device received live, so it is not pushed them. */
  push: { received(deviceId: string, channelId: string, seq: number): void };
  registry: ConnectionRegistry;
  /** Users in a block relation with this one (typing is not shown between them). */
  blockRelations(userId: string): Promise<string[]>;
  /** Cluster routing: deliveries for a user go to the nodes holding their connections. */
  routing: { addLocalUser(userId: string): Promise<void>; removeLocalUser(userId: string): void };
  log: GatewayLogger;
  metrics: GatewayMetrics;
  config: {
    nodeId: string;
    heartbeatMs: number;
    presenceTimeoutMs: number;
    maxOutboundBytes: number;
    maxGroupMembers: number;
    /** Origins allowed besides the server's own (see `originAllowed`). */
    allowedOrigins: readonly string[];
    /** The configured public URL, whose origin counts as the server's own ('' when unset). */
    publicUrl: string;
    /** Per node; 0 means no limit. */
    maxConnectionsPerUser: number;
    trustProxy: boolean;
  };
  now: () => number;
}

const MAX_CONSECUTIVE_ERRORS = 20;
const TYPING_MIN_INTERVAL_MS = 1_000;

/** The parts of an HTTP upgrade request the gateway decides on. */
export interface UpgradeRequest {
  /** The request target's path, without the query. */
  path: string;
  /** The Sec-WebSocket-Protocol header as sent. */
  protocols: string | undefined;
  authorization: string | undefined;
  /** The Origin header (browsers always send one; other clients usually none). */
  origin: string | undefined;
  /** The Host header. */
  host: string | undefined;
  /** X-Forwarded-Host, used instead of Host only with `trustProxy`. */
  forwardedHost: string | undefined;
}

/** Accept with the session, or refuse with an HTTP status before any WebSocket exists. */
export type Admission = { ok: true; session: Session } | { ok: false; status: number; reason: string };

/**
 * Browsers let any page open a WebSocket to any server (no same-origin policy
 * for them) and say who did in `Origin`. An upgrade with an Origin must come
 * from the server's own origin or one the operator allowed; without one it is
 * not from a browser page, and the bearer token alone decides.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[], publicUrl: string): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (publicUrl && new URL(publicUrl).origin === parsed.origin) return true;
  return host !== undefined && parsed.host === host.toLowerCase();
}

/** Parses ALLOWED_ORIGINS: comma-separated, each reduced to its origin (scheme://host[:port]). */
export function parseOrigins(list: string): string[] {
  return list
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => (o === '*' ? o : new URL(o).origin));
}

/** How long a logged-out device is remembered, for sockets whose upgrade was admitted just before. */
const REVOKED_MEMORY_MS = 60_000;

/** Reads the bearer token from the offered subprotocols or the Authorization header. */
function tokenOf(req: UpgradeRequest): string | undefined {
  if (req.protocols) {
    for (const p of req.protocols.split(',')) {
      const proto = p.trim();
      if (proto.startsWith(AUTH_SUBPROTOCOL_PREFIX)) return proto.slice(AUTH_SUBPROTOCOL_PREFIX.length);
    }
  }
  if (req.authorization?.startsWith('Bearer ')) return req.authorization.slice(7).trim();
  return undefined;
}

/**
 * The realtime core of every connection, whatever transport carries it
 * (`adapters/transport`): admission during the HTTP upgrade, before any
 * per-connection state exists; then frames turned into service calls.
 */
export class Gateway implements ConnectionHandler {
  private readonly sweeper: NodeJS.Timeout;
  /** Connection ids: this node's random prefix and a counter (unique cluster-wide, and short). */
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private nextId = 0;
  private accepting = true;
  private readonly lastTyping = new WeakMap<Connection, Map<string, number>>();
  /** Connections with a `sync` frame being answered: one at a time each, so a client cannot queue up reads. */
  private readonly syncing = new WeakSet<Connection>();
  /** Devices logged out lately (id → when), so a socket admitted just before the logout is closed at open. */
  private readonly revoked = new Map<string, number>();
  /** Per user with connections here: resolves once the broker routes their deliveries to this node. */
  private readonly routed = new Map<string, Promise<void>>();

  constructor(private readonly deps: GatewayDeps) {
    const interval = Math.max(50, Math.min(1_000, Math.floor(deps.config.presenceTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), interval);
    this.sweeper.unref();
  }

  /** Decides an upgrade request: the path, whether the node takes connections, and the session. */
  async admit(req: UpgradeRequest): Promise<Admission> {
    if (req.path !== WS_PATH) return { ok: false, status: 404, reason: 'Not Found' };
    if (!this.accepting) return { ok: false, status: 503, reason: 'Service Unavailable' };
    const { config } = this.deps;
    const host = (config.trustProxy && req.forwardedHost?.split(',')[0]?.trim()) || req.host;
    if (!originAllowed(req.origin, host, config.allowedOrigins, config.publicUrl)) return { ok: false, status: 403, reason: 'Forbidden' };
    let session: Session | null;
    try {
      session = await this.deps.accounts.authenticate(tokenOf(req));
    } catch (err) {
      this.deps.log.error({ err }, 'authentication failed');
      return { ok: false, status: 503, reason: 'Service Unavailable' };
    }
    if (!session) return { ok: false, status: 401, reason: 'Unauthorized' };
    if (config.maxConnectionsPerUser > 0 && this.deps.registry.countOfUser(session.user.id) >= config.maxConnectionsPerUser) {
      return { ok: false, status: 429, reason: 'Too Many Requests' };
    }
    return { ok: true, session };
  }

  /** Starts serving an accepted socket; the transport reports its frames and end through the result. */
  open(socket: ClientSocket, session: Session): ConnectionEvents {
    const { config, registry, metrics, now } = this.deps;
    const id = `${this.idPrefix}.${(this.nextId++).toString(36)}`;
    const conn = new Connection(id, session, socket, config.maxOutboundBytes, now(), this);
    const firstOfUser = registry.add(conn);
    metrics.connectionOpened();
    if (this.revoked.has(conn.deviceId)) {
      // Logged out between this socket's admission and now: the close for the device went by before it was listed.
      conn.close(CloseCode.SESSION_REVOKED, 'session revoked');
      return conn;
    }

    // Welcome (after which the client syncs) only once deliveries for this
    // user are routed here: nothing committed after the sync can be missed.
    let routed = this.routed.get(conn.userId);
    if (firstOfUser || !routed) this.routed.set(conn.userId, (routed = this.deps.routing.addLocalUser(conn.userId)));
    routed.then(
      () => this.welcome(conn),
      (err) => {
        this.deps.log.error({ err }, 'routing registration failed');
        conn.close(CloseCode.SERVICE_RESTART, 'routing unavailable');
      },
    );
    return conn;
  }

  /** A frame from a connection's peer. */
  frame(conn: Connection, data: Buffer | string, isBinary: boolean): void {
    conn.lastSeenAt = this.deps.now();
    if (isBinary) return this.fail(conn, { code: 'bad_request', message: 'Frames are JSON text.' }, ++conn.errors);
    const decoded = decodeClientFrame(typeof data === 'string' ? data : data.toString());
    if (!decoded.ok) {
      const { ok: _ok, ...rest } = decoded;
      return this.fail(conn, rest, ++conn.errors);
    }
    conn.errors = 0;
    this.handle(conn, decoded.frame).catch((err) => {
      const frame = decoded.frame;
      const body = toErrorBody(err);
      if (body.code === 'internal') this.deps.log.error({ err, type: frame.type }, 'frame handler failed');
      conn.send({ type: 'error', ...body, ...(frame.type === 'send' && { id: frame.id }), ...('ref' in frame && frame.ref !== undefined && { ref: frame.ref }) });
    });
  }

  /** A connection's socket is gone. */
  ended(conn: Connection): void {
    const { registry } = this.deps;
    if (!registry.all.has(conn)) return; // reported twice
    conn.closed = true;
    if (registry.remove(conn)) {
      this.routed.delete(conn.userId);
      this.deps.routing.removeLocalUser(conn.userId);
    }
    this.deps.metrics.connectionClosed();
    this.deps.presence.disconnected(conn.userId, conn.id, conn.lastSeenAt).catch((err) => this.deps.log.error({ err }, 'presence disconnect failed'));
  }

  wrote(bytes: number): void {
    this.deps.metrics.bytesWritten(bytes);
  }

  private welcome(conn: Connection): void {
    const { config, now } = this.deps;
    const { session } = conn;
    conn.send({
      type: 'welcome',
      userId: session.user.id,
      deviceId: session.device.id,
      nodeId: config.nodeId,
      connectionId: conn.id,
      heartbeatMs: config.heartbeatMs,
      presenceTimeoutMs: config.presenceTimeoutMs,
      serverTime: now(),
      limits: { maxMessageCodePoints: MAX_MESSAGE_CODE_POINTS, maxFrameBytes: MAX_FRAME_BYTES, maxGroupMembers: config.maxGroupMembers },
    });
    this.deps.presence.connected(conn.userId, conn.id).catch((err) => this.deps.log.error({ err }, 'presence connect failed'));
  }

  private fail(conn: Connection, err: Omit<ErrorFrame, 'type' | 'retryable'>, consecutive: number): void {
    conn.send({ type: 'error', retryable: ERROR_CODES[err.code].retryable, ...err });
    if (consecutive >= MAX_CONSECUTIVE_ERRORS) conn.close(CloseCode.TOO_MANY_ERRORS, 'too many invalid frames');
  }

  private async handle(conn: Connection, frame: ClientFrame): Promise<void> {
    const { session } = conn;
    switch (frame.type) {
      case 'ping':
        this.deps.presence.heartbeat(conn.userId, conn.id);
        conn.send({ type: 'pong', ...(frame.t !== undefined && { t: frame.t }), serverTime: this.deps.now() });
        return;
      case 'send': {
        const started = performance.now();
        const ack = await this.deps.messages.send(session, frame.channelId, frame.id, frame.text);
        this.deps.metrics.sendAck((performance.now() - started) / 1000);
        conn.send({ type: 'ack', id: frame.id, ...ack });
        return;
      }
      case 'sync': {
        if (this.syncing.has(conn)) throw new AppError('rate_limited', 'One sync at a time per connection.', { retryAfterMs: 100 });
        this.syncing.add(conn);
        try {
          const page = await this.deps.messages.resume(session, frame.cursor, frame.limit, frame.have ?? {});
          conn.send({ type: 'sync', ref: frame.ref, ...page });
        } finally {
          this.syncing.delete(conn);
        }
        return;
      }
      case 'read':
      case 'delivered':
        await this.deps.receipts.report(session, frame.channelId, frame.type, frame.seq);
        this.deps.push.received(session.device.id, frame.channelId, frame.seq);
        return;
      case 'typing': {
        const members = await this.deps.members.members(frame.channelId);
        if (!members.has(conn.userId)) throw new AppError('not_member');
        let last = this.lastTyping.get(conn);
        if (!last) this.lastTyping.set(conn, (last = new Map()));
        const now = this.deps.now();
        if (now - (last.get(frame.channelId) ?? 0) < TYPING_MIN_INTERVAL_MS) return;
        last.set(frame.channelId, now);
        const blocked = new Set(await this.deps.blockRelations(conn.userId));
        this.deps.fanout.typing(frame.channelId, conn.userId, [...members].filter((id) => id !== conn.userId && !blocked.has(id)));
        return;
      }
    }
  }

  /** Closes connections that have been silent longer than the presence timeout. */
  private sweep(): void {
    const cutoff = this.deps.now() - this.deps.config.presenceTimeoutMs;
    for (const conn of this.deps.registry.all) {
      if (conn.lastSeenAt < cutoff) conn.close(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    }
  }

  /** Closes every socket of a device after logout, including one admitted but not yet open. */
  deviceRevoked(deviceId: string): void {
    const now = this.deps.now();
    this.revoked.delete(deviceId);
    this.revoked.set(deviceId, now);
    for (const [id, at] of this.revoked) {
      if (now - at < REVOKED_MEMORY_MS) break; // oldest first
      this.revoked.delete(id);
    }
    for (const conn of this.deps.registry.ofDevice(deviceId)) conn.close(CloseCode.SESSION_REVOKED, 'session revoked');
  }

  /** Stops accepting upgrades and asks every client to reconnect elsewhere. */
  drain(): void {
    this.accepting = false;
    for (const conn of this.deps.registry.all) conn.send({ type: 'reconnect', reason: 'draining' });
  }

  closeAll(code: number, reason: string): void {
    for (const conn of [...this.deps.registry.all]) conn.close(code, reason);
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
