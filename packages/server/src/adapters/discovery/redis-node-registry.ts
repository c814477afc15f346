import type { Cluster, Redis } from 'ioredis';
import type { NodeInfo, NodeRegistry } from '../../discovery/node-registry.js';
import { closeRedis, connectionName, openRedis, type RedisConnectionOptions } from '../redis/connect.js';

const FORGET_AFTER_MS = 60_000;

/**
 * Discovery on Redis: a hash of node descriptions and a sorted set of their
 * expiry times. Both keys share the `{nodes}` hash tag, so on a Redis Cluster
 * they live in one slot and can be updated in one transaction.
 */
export class RedisNodeRegistry implements NodeRegistry {
  private readonly infoKey: string;
  private readonly expiryKey: string;

  private owned = false;

  constructor(
    private readonly redis: Redis | Cluster,
    keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.infoKey = `${keyPrefix}{nodes}:info`;
    this.expiryKey = `${keyPrefix}{nodes}:expiry`;
  }

  async announce(info: NodeInfo, ttlMs: number): Promise<void> {
    await this.redis
      .multi()
      .hset(this.infoKey, info.id, JSON.stringify(info))
      .zadd(this.expiryKey, this.now() + ttlMs, info.id)
      .exec();
  }

  async withdraw(nodeId: string): Promise<void> {
    await this.redis.multi().hdel(this.infoKey, nodeId).zrem(this.expiryKey, nodeId).exec();
  }

  async live(): Promise<NodeInfo[]> {
    const now = this.now();
    const ids = await this.redis.zrangebyscore(this.expiryKey, now, '+inf');
    // Nodes silent for a minute are forgotten lazily by whoever looks (a
    // node that comes back simply announces itself again).
    const forgotten = await this.redis.zrangebyscore(this.expiryKey, '-inf', `(${now - FORGET_AFTER_MS}`);
    if (forgotten.length > 0) {
      await this.redis.multi().zrem(this.expiryKey, ...forgotten).hdel(this.infoKey, ...forgotten).exec();
    }
    if (ids.length === 0) return [];
    const rows = await this.redis.hmget(this.infoKey, ...ids);
    return rows.flatMap((row) => (row ? [JSON.parse(row) as NodeInfo] : []));
  }

  /** A registry with a connection of its own, closed with it. */
  static async open(opts: { redis: RedisConnectionOptions; keyPrefix: string; nodeId: string; onError?: (err: unknown) => void }): Promise<RedisNodeRegistry> {
    const client = await openRedis(opts.redis, { name: connectionName('confab-discovery:', opts.nodeId), ...(opts.onError && { onError: opts.onError }) });
    const registry = new RedisNodeRegistry(client, opts.keyPrefix);
    registry.owned = true;
    return registry;
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }
}
