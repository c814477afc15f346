import { randomUUID } from 'node:crypto';
import type { PresenceTracker } from '../../presence/presence-tracker.js';
import { closeRedis, connectionName, openRedis, type RedisClient, type RedisConnectionOptions } from '../redis/connect.js';

export interface RedisPresenceTrackerOptions {
  redis: RedisConnectionOptions;
  /** Prefix of every key (e.g. `confab:`); must not contain `{` or `}`. */
  keyPrefix: string;
  /** A connection not refreshed by heartbeat() for this long is dead. */
  timeoutMs: number;
  /** How often this node looks for users whose connections all expired. Default: a quarter of timeoutMs, at most 1 s. */
  sweepIntervalMs?: number;
  onError?: (err: unknown) => void;
  /** The clock of the sweep and of online(); the other calls are given their time. Default Date.now. */
  now?: () => number;
}

/*
 * Redis layout (P = keyPrefix):
 *   P presence:{<userId>}   sorted set connection id → expiry (ms); a
 *                           connection is live while its expiry >= now
 *   P presence-expiry       sorted set user id → when to look at the user
 *                           next; never later than the expiry of any of the
 *                           user's connections
 *   P presence-sweep        short lock: which node sweeps this interval
 *
 * Every script touches one key, so on a Redis Cluster each runs on the shard
 * of its `{userId}`; nothing needs two slots at once. The index is kept
 * without scripts spanning slots: connect lowers the user's entry (ZADD LT),
 * heartbeats do not touch it at all, and the sweep moves it forward or
 * removes it with a compare-and-set on the score it read.
 */

/** Connect: drop dead entries, note whether a live one remains, add this one. 1 = came online. */
const CONNECT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local live = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
if live == 0 then return 1 end
return 0
`;

/**
 * Disconnect: remove this entry and dead ones. 1 = went offline: this
 * connection was there and nothing live is left (the user's offline moment is
 * then announced by this call, never also by the sweep).
 */
const DISCONNECT = `
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0
`;

/**
 * Sweep of one user: remove dead entries. Returns
 *   {1, <earliest live expiry>}   someone is still live
 *   {2, <latest removed expiry>}  this call removed the user's last entries: expired
 *   {0, 0}                        nothing left, nothing removed (already handled)
 * Atomic per user, so however many nodes sweep, one of them sees 2.
 */
const SWEEP_USER = `
local latest = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #latest > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1]) end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first > 0 then return {1, first[2]} end
if #latest > 0 then return {2, latest[2]} end
return {0, '0'}
`;

/** Index compare-and-set: if the user's score is still ARGV[2], set it to ARGV[3] (or remove the user when ARGV[3] is empty). */
const INDEX_CAS = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
`;

interface PresenceScripts {
  confabPresenceConnect(key: string, now: number, expiresAt: number, connectionId: string): Promise<number>;
  confabPresenceDisconnect(key: string, now: number, connectionId: string): Promise<number>;
  confabPresenceSweepUser(key: string, now: number): Promise<[number, string]>;
  confabPresenceIndexCas(key: string, userId: string, expected: string, next: string): Promise<number>;
}

type ScriptedClient = RedisClient & PresenceScripts;

const SWEEP_BATCH = 500;
const SWEEP_MAX_BATCHES = 10;

/**
 * Cluster-wide presence on Redis: one sorted set of connection expiries per
 * user. "Came online" and "went offline" are decided by one script each, so
 * concurrent connects or disconnects on different nodes report each change
 * once. A node that dies stops heartbeating; its entries expire and the
 * sweep (run by whichever node holds the sweep lock, atomically per user)
 * reports each user left with no live connection to the `expired` handlers,
 * once.
 */
export class RedisPresenceTracker implements PresenceTracker {
  private readonly handlers: ((userId: string, lastSeen: number) => void)[] = [];
  /** This node's connections, registered again if Redis comes back without them. */
  private readonly local = new Map<string, string>();
  private readonly indexKey: string;
  private readonly lockKey: string;
  private readonly token = randomUUID();
  private readonly timer: NodeJS.Timeout;
  private sweeping: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly redis: ScriptedClient,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly sweepIntervalMs: number,
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number,
  ) {
    this.indexKey = `${prefix}presence-expiry`;
    this.lockKey = `${prefix}presence-sweep`;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => this.onError(err))
        .finally(() => (this.sweeping = undefined));
    }, sweepIntervalMs);
    this.timer.unref();
    this.redis.on('ready', () => void this.reregister());
  }

  static async open(opts: RedisPresenceTrackerOptions): Promise<RedisPresenceTracker> {
    if (/[{}]/.test(opts.keyPrefix)) throw new Error('the Redis key prefix must not contain "{" or "}"');
    if (!(opts.timeoutMs > 0)) throw new Error('timeoutMs must be positive');
    const sweepIntervalMs = opts.sweepIntervalMs ?? Math.max(10, Math.min(1_000, Math.floor(opts.timeoutMs / 4)));
    const onError = opts.onError ?? (() => {});
    const redis = (await openRedis(opts.redis, { name: connectionName('confab-presence:', opts.keyPrefix), onError })) as ScriptedClient;
    redis.defineCommand('confabPresenceConnect', { numberOfKeys: 1, lua: CONNECT });
    redis.defineCommand('confabPresenceDisconnect', { numberOfKeys: 1, lua: DISCONNECT });
    redis.defineCommand('confabPresenceSweepUser', { numberOfKeys: 1, lua: SWEEP_USER });
    redis.defineCommand('confabPresenceIndexCas', { numberOfKeys: 1, lua: INDEX_CAS });
    return new RedisPresenceTracker(redis, opts.keyPrefix, opts.timeoutMs, sweepIntervalMs, onError, opts.now ?? Date.now);
  }

  private key(userId: string): string {
    return `${this.prefix}presence:{${userId}}`;
  }

  async connect(userId: string, connectionId: string, now: number): Promise<boolean> {
    this.local.set(connectionId, userId);
    const expiresAt = now + this.timeoutMs;
    const cameOnline = await this.redis.confabPresenceConnect(this.key(userId), now, expiresAt, connectionId);
    // After the entry: the sweep never sees an index entry for a user whose
    // entry it could miss (see sweepUser for the other order).
    await this.redis.zadd(this.indexKey, 'LT', expiresAt, userId);
    return cameOnline === 1;
  }

  heartbeat(userId: string, connectionId: string, now: number): void {
    if (this.closed) return;
    // XX: a late heartbeat never brings back a connection that is gone; GT: nor moves its expiry back.
    this.redis.zadd(this.key(userId), 'XX', 'GT', now + this.timeoutMs, connectionId).catch((err: unknown) => this.onError(err));
  }

  async disconnect(userId: string, connectionId: string, now: number): Promise<boolean> {
    this.local.delete(connectionId);
    // The index entry stays; the sweep removes it once it is due.
    return (await this.redis.confabPresenceDisconnect(this.key(userId), now, connectionId)) === 1;
  }

  async online(userIds: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return new Set();
    const now = this.now();
    // Issued together: one pipeline per server.
    const counts = await Promise.all(unique.map((u) => this.redis.zcount(this.key(u), now, '+inf')));
    return new Set(unique.filter((_, i) => (counts[i] ?? 0) > 0));
  }

  onExpired(handler: (userId: string, lastSeen: number) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.sweeping;
    // Connections still listed here expire on their own and are swept by the other nodes.
    await closeRedis(this.redis);
  }

  // --- expiry -------------------------------------------------------------------

  /** One sweep, by the node that takes the lock for this interval. */
  private async sweep(): Promise<void> {
    if (this.closed) return;
    // Held a little less than an interval, so that the holder's next tick is not locked out by itself.
    const locked = await this.redis.set(this.lockKey, this.token, 'PX', Math.max(1, Math.floor(this.sweepIntervalMs * 0.8)), 'NX');
    if (locked !== 'OK') return;
    for (let batch = 0; batch < SWEEP_MAX_BATCHES && !this.closed; batch++) {
      const now = this.now();
      const due = await this.redis.zrangebyscore(this.indexKey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, SWEEP_BATCH);
      const users: [string, string][] = [];
      for (let i = 0; i + 1 < due.length; i += 2) users.push([due[i] as string, due[i + 1] as string]);
      await Promise.all(users.map(([userId, score]) => this.sweepUser(userId, score, now).catch((err: unknown) => this.onError(err))));
      if (users.length < SWEEP_BATCH) return;
    }
  }

  private async sweepUser(userId: string, indexScore: string, now: number): Promise<void> {
    const [state, score] = await this.redis.confabPresenceSweepUser(this.key(userId), now);
    if (state === 1) {
      // Still live: look again when its earliest connection is due.
      await this.redis.confabPresenceIndexCas(this.indexKey, userId, indexScore, score);
      return;
    }
    if (state === 2) {
      const lastSeen = Number(score) - this.timeoutMs;
      for (const handler of this.handlers) {
        try {
          handler(userId, lastSeen);
        } catch (err) {
          this.onError(err);
        }
      }
    }
    // Nothing left: drop the index entry unless a connect changed it meanwhile.
    // A connect whose entry landed before this removal but whose index update
    // came earlier still (it found this score lower and kept it) is caught by
    // looking at the user's key again.
    if ((await this.redis.confabPresenceIndexCas(this.indexKey, userId, indexScore, '')) === 1) {
      const first = await this.redis.zrange(this.key(userId), 0, 0, 'WITHSCORES');
      if (first.length === 2) await this.redis.zadd(this.indexKey, 'LT', first[1] as string, userId);
    }
  }

  /** After a reconnect: put back this node's connections, in case Redis lost them (their announcements were already made). */
  private async reregister(): Promise<void> {
    if (this.closed || this.local.size === 0) return;
    const expiresAt = this.now() + this.timeoutMs;
    try {
      await Promise.all(
        [...this.local].flatMap(([connectionId, userId]) => [
          this.redis.zadd(this.key(userId), 'GT', expiresAt, connectionId),
          this.redis.zadd(this.indexKey, 'LT', expiresAt, userId),
        ]),
      );
    } catch (err) {
      this.onError(err);
    }
  }
}
