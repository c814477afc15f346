import { randomBytes } from 'node:crypto';
import type { Broker, BusEvent } from '../../realtime/broker.js';
import {
  closeRedis,
  connectionName,
  isClusterOptions,
  openRedis,
  openSubscriber,
  type RedisClient,
  type RedisConnectionOptions,
} from '../redis/connect.js';

export interface RedisBrokerOptions {
  redis: RedisConnectionOptions;
  /** This node's name; unique among the live nodes sharing the key prefix. */
  nodeId: string;
  /** Prefix of every key and channel (e.g. `confab:`); must not contain `{` or `}`. */
  keyPrefix: string;
  /**
   * A node that has not refreshed its liveness entry for this long is dead:
   * publishers stop sending to it and drop its routes. Refreshed every third
   * of it. Default 15 s.
   */
  nodeTtlMs?: number;
  /** Failures of fire-and-forget work (publishing, route removal, liveness). */
  onError?: (err: unknown) => void;
}

/*
 * Redis layout (P = keyPrefix; I = instance id, the node id plus a suffix
 * drawn at every start, so that a node restarted under the same NODE_ID after
 * a crash is not sent what was routed to its previous life):
 *   P route:{<userId>}   set of instance ids holding a connection of the user
 *   P nodes              sorted set instance id → liveness expiry (ms, Redis clock)
 *   P node:<I>           channel: every event for that instance
 *   P all                channel: broadcasts (single Redis only, see below)
 *
 * Every message is framed as
 *   [1 byte version = 1][4 bytes big-endian header length][header: UTF-8 JSON][payload bytes]
 * where the header is {"kind":"deliver","userIds":[…]} followed by the raw
 * payload, or a whole broadcast event with no payload. The payload is never
 * parsed or re-serialized; it is copied once per target node.
 *
 * Order: events are published by one loop that sends them in publish order
 * over one command connection (per shard on a cluster), and each node reads
 * all its events from one subscription, so a node sees one publisher's events
 * in publish order. On a single Redis the node channel and `all` share the
 * subscriber connection, so order holds across kinds. On a cluster the
 * channels of different names live on different shards and arrive on
 * different connections, so broadcasts are instead sent to every live node's
 * own (sharded) channel, which keeps that order there too.
 */

const FRAME_VERSION = 1;
const DEFAULT_NODE_TTL_MS = 15_000;
/** Expired liveness entries are kept this long so that their leftover routes are recognised and removed when read. */
const DEAD_NODE_RETENTION_MS = 3_600_000;
/** Events (and their payload bytes) waiting while a batch is in flight; beyond this (Redis unresponsive) new events are dropped. */
const MAX_QUEUED_EVENTS = 100_000;
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const MAX_BATCH_EVENTS = 1_000;

/** Registers this node as live until Redis-now + ttl; returns 1 if it already was live, 0 if its entry had lapsed or was missing. */
const REFRESH_NODE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))
if prev and tonumber(prev) >= now then return 1 end
return 0
`;

/** Redis-now and every node's expiry, so that no node's clock has to agree with another's. */
const READ_NODES = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return { now, redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES') }
`;

interface BrokerScripts {
  confabRefreshNode(key: string, nodeId: string, ttlMs: number, retentionMs: number): Promise<number>;
  confabReadNodes(key: string): Promise<[number, string[]]>;
}

type ScriptedClient = RedisClient & BrokerScripts;

function defineScripts(redis: RedisClient): ScriptedClient {
  redis.defineCommand('confabRefreshNode', { numberOfKeys: 1, lua: REFRESH_NODE });
  redis.defineCommand('confabReadNodes', { numberOfKeys: 1, lua: READ_NODES });
  return redis as ScriptedClient;
}

/** Encodes one message: version, header length, JSON header, then the payload bytes untouched. */
export function encodeBrokerFrame(header: object, payload?: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.allocUnsafe(5);
  prefix.writeUInt8(FRAME_VERSION, 0);
  prefix.writeUInt32BE(json.length, 1);
  return Buffer.concat(payload ? [prefix, json, payload] : [prefix, json]);
}

export function decodeBrokerFrame(frame: Buffer): BusEvent {
  if (frame.length < 5 || frame.readUInt8(0) !== FRAME_VERSION) throw new Error('unknown broker frame version');
  const headerLength = frame.readUInt32BE(1);
  if (5 + headerLength > frame.length) throw new Error('truncated broker frame');
  const header = JSON.parse(frame.toString('utf8', 5, 5 + headerLength)) as Record<string, unknown>;
  switch (header.kind) {
    case 'deliver':
      if (!Array.isArray(header.userIds)) break;
      // subarray: a view on the received buffer, no copy.
      return { kind: 'deliver', userIds: header.userIds as string[], payload: frame.subarray(5 + headerLength) };
    case 'revoke-device':
      if (typeof header.userId !== 'string' || typeof header.deviceId !== 'string') break;
      return { kind: 'revoke-device', userId: header.userId, deviceId: header.deviceId };
    case 'membership':
      if (typeof header.channelId !== 'string') break;
      return { kind: 'membership', channelId: header.channelId };
  }
  throw new Error('malformed broker frame');
}

/**
 * The distributed broker: routes `deliver` events through Redis to the nodes
 * holding a connection of one of the users, once per node, and broadcasts the
 * other kinds. Everything, including events for this node itself, goes
 * through Redis, which is what keeps one publisher's events in order.
 */
export class RedisBroker implements Broker {
  private readonly handlers: ((event: BusEvent) => void)[] = [];
  private readonly localUsers = new Set<string>();
  /** Users whose route removal failed (Redis down); retried when Redis is back. */
  private readonly staleRoutes = new Set<string>();
  private readonly queue: BusEvent[] = [];
  private queuedBytes = 0;
  private backlogReported = false;
  private pumpActive = false;
  private pumping: Promise<void> = Promise.resolve();
  private lastSends: Promise<unknown> = Promise.resolve();
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Re-register routes on the next refresh as well (see refresh()). */
  private repairAgain = false;
  private closed = false;
  private readonly nodesKey: string;
  private readonly nodeChannel: string;
  private readonly allChannel: string;
  private readonly ttlMs: number;

  private constructor(
    private readonly redis: ScriptedClient,
    private readonly sub: RedisClient,
    private readonly sharded: boolean,
    /** This process's name in routes, liveness and channel names: `<nodeId>/<random suffix>`. */
    readonly instanceId: string,
    private readonly prefix: string,
    ttlMs: number,
    private onError: (err: unknown) => void,
  ) {
    this.ttlMs = ttlMs;
    this.nodesKey = `${prefix}nodes`;
    this.nodeChannel = RedisBroker.nodeChannel(prefix, instanceId);
    this.allChannel = `${prefix}all`;
  }

  /** The channel an instance listens on. */
  static nodeChannel(keyPrefix: string, instanceId: string): string {
    return `${keyPrefix}node:${instanceId}`;
  }

  /** Connects, subscribes and registers this node as live; resolves once events can be routed to it. */
  static async open(opts: RedisBrokerOptions): Promise<RedisBroker> {
    if (/[{}]/.test(opts.keyPrefix)) throw new Error('the Redis key prefix must not contain "{" or "}"');
    if (opts.nodeId.length === 0) throw new Error('the node id must not be empty');
    const onError = opts.onError ?? (() => {});
    const ttlMs = opts.nodeTtlMs ?? DEFAULT_NODE_TTL_MS;
    if (!(ttlMs >= 30)) throw new Error('nodeTtlMs must be at least 30 ms');
    const sharded = isClusterOptions(opts.redis);
    const redis = defineScripts(await openRedis(opts.redis, { name: connectionName('confab-broker:', opts.keyPrefix, opts.nodeId), onError }));
    let sub: RedisClient;
    try {
      sub = await openSubscriber(opts.redis, { name: connectionName('confab-broker-sub:', opts.keyPrefix, opts.nodeId), onError });
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    const instanceId = `${opts.nodeId}/${randomBytes(4).toString('hex')}`;
    const broker = new RedisBroker(redis, sub, sharded, instanceId, opts.keyPrefix, ttlMs, onError);
    try {
      await broker.start();
    } catch (err) {
      broker.disconnect();
      throw err;
    }
    return broker;
  }

  private async start(): Promise<void> {
    const onFrame = (_channel: Buffer, frame: Buffer) => this.receive(frame);
    if (this.sharded) {
      this.sub.on('smessageBuffer', onFrame);
      await this.sub.ssubscribe(this.nodeChannel);
    } else {
      this.sub.on('messageBuffer', onFrame);
      await this.sub.subscribe(this.nodeChannel, this.allChannel);
    }
    // Listening before being visible as live: nothing routed here is missed.
    await this.redis.confabRefreshNode(this.nodesKey, this.instanceId, this.ttlMs, DEAD_NODE_RETENTION_MS);
    this.refreshTimer = setInterval(() => void this.refresh(), Math.max(10, Math.floor(this.ttlMs / 3)));
    this.refreshTimer.unref();
    // After an outage (or a restart of Redis that lost everything) the
    // command connection reconnects: re-register liveness and routes.
    // The subscriber re-subscribes by itself (autoResubscribe).
    this.redis.on('ready', () => void this.refresh(true));
  }

  publish(event: BusEvent): void {
    if (this.closed) return;
    const bytes = event.kind === 'deliver' ? event.payload.length : 0;
    if (this.queue.length >= MAX_QUEUED_EVENTS || this.queuedBytes + bytes > MAX_QUEUED_BYTES) {
      // Once per episode, not once per dropped event.
      if (!this.backlogReported) this.onError(new Error('broker backlog full: events are being dropped'));
      this.backlogReported = true;
      return;
    }
    this.queue.push(event);
    this.queuedBytes += bytes;
    if (!this.pumpActive) {
      this.pumpActive = true;
      this.pumping = this.pump();
    }
  }

  subscribe(handler: (event: BusEvent) => void): void {
    this.handlers.push(handler);
  }

  async addLocalUser(userId: string): Promise<void> {
    if (this.closed) throw new Error('broker closed');
    this.localUsers.add(userId);
    this.staleRoutes.delete(userId);
    await this.redis.sadd(this.routeKey(userId), this.instanceId);
  }

  removeLocalUser(userId: string): void {
    if (this.closed) return;
    this.localUsers.delete(userId);
    this.redis.srem(this.routeKey(userId), this.instanceId).catch((err: unknown) => {
      if (!this.localUsers.has(userId)) this.staleRoutes.add(userId);
      this.onError(err);
    });
  }

  /** Sends what was published, removes this node's routes and liveness entry, unsubscribes and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.refreshTimer);
    await withTimeout(this.drained(), 2_000);
    try {
      const users = [...this.localUsers];
      this.localUsers.clear();
      await Promise.all([
        ...users.map((u) => this.redis.srem(this.routeKey(u), this.instanceId)),
        this.redis.zrem(this.nodesKey, this.instanceId),
      ]);
    } catch (err) {
      // Whatever is left behind expires with the liveness entry.
      this.onError(err);
    }
    this.handlers.length = 0;
    try {
      if (this.sharded) await withTimeout(this.sub.sunsubscribe(this.nodeChannel), 1_000);
      else await withTimeout(this.sub.unsubscribe(this.nodeChannel, this.allChannel), 1_000);
    } catch {
      // quitting unsubscribes anyway
    }
    await Promise.all([closeRedis(this.sub), closeRedis(this.redis)]);
  }

  /**
   * Drops the connections at once, leaving routes and liveness behind as a
   * crashed process would; peers stop routing here when the liveness entry
   * expires. close() is the graceful shutdown.
   */
  disconnect(): void {
    this.closed = true;
    this.onError = () => {};
    clearInterval(this.refreshTimer);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.handlers.length = 0;
    this.sub.disconnect();
    this.redis.disconnect();
  }

  // --- publishing -------------------------------------------------------------

  private routeKey(userId: string): string {
    return `${this.prefix}route:{${userId}}`;
  }

  /** Resolves once everything published so far has been handed to Redis. */
  private async drained(): Promise<void> {
    while (this.pumpActive) await this.pumping;
    await this.lastSends;
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH_EVENTS);
        for (const e of batch) if (e.kind === 'deliver') this.queuedBytes -= e.payload.length;
        try {
          await this.send(batch);
        } catch (err) {
          // Redis unreachable or failing: this batch is dropped (devices catch up by sync).
          this.onError(err);
        }
      }
    } finally {
      this.pumpActive = false;
      this.backlogReported = false;
    }
  }

  /**
   * One round trip reads the routes of every user in the batch and the
   * liveness table; the messages then follow, in publish order, without
   * waiting for their replies (later batches queue behind them on the same
   * connections).
   */
  private async send(batch: BusEvent[]): Promise<void> {
    const users = new Set<string>();
    let broadcasts = false;
    for (const e of batch) {
      if (e.kind === 'deliver') for (const u of e.userIds) users.add(u);
      else broadcasts = true;
    }
    const userList = [...users];
    const needNodes = userList.length > 0 || (broadcasts && this.sharded);
    let routes = new Map<string, string[]>();
    let live: string[] = [];
    if (needNodes) {
      // Routes first, liveness last: on a single Redis a node seen in a route
      // registered its liveness before, so it is not mistaken for a dead one.
      const reads = userList.map((u) => this.redis.smembers(this.routeKey(u)));
      const nodesRead = this.redis.confabReadNodes(this.nodesKey);
      const [sets, [now, entries]] = await Promise.all([Promise.all(reads), nodesRead]);
      const { alive, expired } = classifyNodes(Number(now), entries);
      live = [...alive];
      routes = new Map(userList.map((u, i) => [u, sets[i] ?? []]));
      this.dropDeadRoutes(routes, expired);
      for (const [u, nodes] of routes) routes.set(u, nodes.filter((n) => alive.has(n)));
    }

    const sends: Promise<unknown>[] = [];
    const publish = (channel: string, frame: Buffer) => {
      sends.push(this.sharded ? this.redis.spublish(channel, frame) : this.redis.publish(channel, frame));
    };
    for (const event of batch) {
      if (event.kind === 'deliver') {
        const byNode = new Map<string, string[]>();
        for (const u of new Set(event.userIds)) {
          for (const node of routes.get(u) ?? []) {
            let list = byNode.get(node);
            if (!list) byNode.set(node, (list = []));
            list.push(u);
          }
        }
        for (const [node, userIds] of byNode) {
          publish(RedisBroker.nodeChannel(this.prefix, node), encodeBrokerFrame({ kind: 'deliver', userIds }, event.payload));
        }
      } else if (this.sharded) {
        const frame = encodeBrokerFrame(event);
        for (const node of live) publish(RedisBroker.nodeChannel(this.prefix, node), frame);
      } else {
        publish(this.allChannel, encodeBrokerFrame(event));
      }
    }
    this.lastSends = Promise.all(sends).catch((err: unknown) => this.onError(err));
  }

  /** Removes, without waiting, the routes of nodes whose liveness expired (their process died without cleaning up). */
  private dropDeadRoutes(routes: Map<string, string[]>, expired: Set<string>): void {
    if (expired.size === 0) return;
    for (const [u, nodes] of routes) {
      const dead = nodes.filter((n) => expired.has(n));
      if (dead.length > 0) this.redis.srem(this.routeKey(u), ...dead).catch((err: unknown) => this.onError(err));
    }
  }

  // --- receiving --------------------------------------------------------------

  private receive(frame: Buffer): void {
    if (this.closed) return;
    let event: BusEvent;
    try {
      event = decodeBrokerFrame(frame);
    } catch (err) {
      this.onError(err);
      return;
    }
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  // --- liveness ---------------------------------------------------------------

  /**
   * Refreshes the liveness entry. If it had lapsed (this process stalled, or
   * Redis lost it) publishers may have dropped this node's routes, so all of
   * them are registered again, and once more on the next refresh: a publisher
   * that saw the lapse may remove a route just after it was re-added.
   */
  private async refresh(reconnected = false): Promise<void> {
    if (this.closed) return;
    try {
      const wasLive = await this.redis.confabRefreshNode(this.nodesKey, this.instanceId, this.ttlMs, DEAD_NODE_RETENTION_MS);
      const repair = reconnected || wasLive !== 1 || this.repairAgain;
      this.repairAgain = wasLive !== 1 || reconnected;
      if (repair) await this.reregister();
    } catch (err) {
      this.onError(err);
    }
  }

  private async reregister(): Promise<void> {
    const adds = [...this.localUsers].map((u) => this.redis.sadd(this.routeKey(u), this.instanceId));
    const stale = [...this.staleRoutes];
    this.staleRoutes.clear();
    const removes = stale.map((u) =>
      this.redis.srem(this.routeKey(u), this.instanceId).catch((err: unknown) => {
        if (!this.localUsers.has(u)) this.staleRoutes.add(u);
        throw err;
      }),
    );
    await Promise.all([...adds, ...removes]);
  }
}

function classifyNodes(now: number, entries: string[]): { alive: Set<string>; expired: Set<string> } {
  const alive = new Set<string>();
  const expired = new Set<string>();
  for (let i = 0; i + 1 < entries.length; i += 2) {
    const id = entries[i] as string;
    if (Number(entries[i + 1]) >= now) alive.add(id);
    else expired.add(id);
  }
  return { alive, expired };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
