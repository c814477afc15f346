import type { BrokerCluster } from '../../src/realtime/broker.contract.js';
import type { PresenceCluster } from '../../src/presence/presence-tracker.contract.js';
import type { LimiterCluster } from '../../src/limits/rate-limiter.contract.js';
import { RedisRateLimiter } from '../../src/adapters/limits/redis-rate-limiter.js';
import { RedisBroker } from '../../src/adapters/broker/redis-broker.js';
import { RedisPresenceTracker } from '../../src/adapters/presence/redis-presence-tracker.js';
import { closeRedis, deleteKeysWithPrefix, isClusterOptions, openSubscriber, type RedisClient, type RedisConnectionOptions } from '../../src/adapters/redis/connect.js';
import { uniqueName } from './services.js';

/*
 * The clusters the Broker and PresenceTracker contract suites run on, for a
 * plain Redis and a Redis Cluster alike: each gets a fresh key prefix, which
 * `admin` deletes afterwards.
 */

export async function redisBrokerCluster(redis: RedisConnectionOptions, admin: RedisClient, nodes: number, nodeTtlMs: number): Promise<BrokerCluster> {
  const prefix = `${uniqueName('broker')}:`;
  const brokers = await Promise.all(Array.from({ length: nodes }, (_, i) => RedisBroker.open({ redis, nodeId: `n${i}`, keyPrefix: prefix, nodeTtlMs })));
  // Node channels use sharded pub/sub on a cluster, classic pub/sub otherwise.
  const sharded = isClusterOptions(redis);
  return {
    brokers,
    async crash(index) {
      brokers[index]!.disconnect();
      const probe = await openSubscriber(redis, { name: 'probe' });
      let count = 0;
      probe.on(sharded ? 'smessageBuffer' : 'messageBuffer', () => count++);
      const channel = RedisBroker.nodeChannel(prefix, brokers[index]!.instanceId);
      await (sharded ? probe.ssubscribe(channel) : probe.subscribe(channel));
      await new Promise((r) => setTimeout(r, nodeTtlMs + 150));
      return { traffic: () => count, close: () => closeRedis(probe, 1_000) };
    },
    async cleanup() {
      await Promise.all(brokers.map((b) => b.close()));
      await deleteKeysWithPrefix(admin, prefix);
    },
  };
}

export async function redisPresenceCluster(redis: RedisConnectionOptions, admin: RedisClient, opts: { timeoutMs: number; nodes: number }): Promise<PresenceCluster> {
  const prefix = `${uniqueName('presence')}:`;
  const sweepIntervalMs = Math.max(20, Math.min(100, Math.floor(opts.timeoutMs / 6)));
  const trackers = await Promise.all(
    Array.from({ length: opts.nodes }, () => RedisPresenceTracker.open({ redis, keyPrefix: prefix, timeoutMs: opts.timeoutMs, sweepIntervalMs })),
  );
  return {
    trackers,
    supportsExpiry: true,
    async cleanup() {
      await Promise.all(trackers.map((t) => t.close()));
      await deleteKeysWithPrefix(admin, prefix);
    },
  };
}

export async function redisLimiterCluster(redis: RedisConnectionOptions, admin: RedisClient, nodes: number): Promise<LimiterCluster> {
  const prefix = `${uniqueName('limits')}:`;
  const limiters = await Promise.all(Array.from({ length: nodes }, () => RedisRateLimiter.open({ redis, keyPrefix: prefix })));
  return {
    limiters,
    async cleanup() {
      await Promise.all(limiters.map((l) => l.close()));
      await deleteKeysWithPrefix(admin, prefix);
    },
  };
}
