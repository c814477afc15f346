import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePresenceContract } from '../../presence/presence-tracker.contract.js';
import { describeRateLimiterContract } from '../../limits/rate-limiter.contract.js';
import { redisBrokerCluster, redisLimiterCluster, redisPresenceCluster } from '../../../test/support/redis-contract-clusters.js';
import { canListen, startRedisServer, stopRedisServer, type RedisServer } from '../../../test/support/redis-server.js';
import { until } from '../../../test/support/wait.js';
import { describeBrokerContract } from '../../realtime/broker.contract.js';
import { closeRedis, masters, openRedis, type RedisClient, type RedisConnectionOptions } from './connect.js';

/*
 * The broker and presence contracts on a real Redis Cluster: three masters
 * started here on free loopback ports, in temporary directories, joined with
 * `redis-cli --cluster create`, killed at the end.
 */

const run = promisify(execFile);
const NODE_TTL_MS = 900;

const haveBinaries = await Promise.all(['redis-server', 'redis-cli'].map((bin) => run(bin, ['--version']).then(() => true, () => false))).then(
  (found) => found.every(Boolean),
);
const enabled = haveBinaries || process.env.CI === 'true';
if (!enabled) {
  console.warn('SKIPPED: redis-server / redis-cli are not on PATH; the Redis Cluster suites did not run (set CI=true to make this a failure).');
}

describe.runIf(enabled)('Redis Cluster (3 masters)', () => {
  const servers: RedisServer[] = [];
  let redis: RedisConnectionOptions;
  let admin: RedisClient;

  beforeAll(async () => {
    const ports = await freeClusterPorts(3);
    for (const port of ports) servers.push(await startServer(port));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 20_000,
    });
    await until(
      async () => {
        const states = await Promise.all(ports.map((p) => run('redis-cli', ['-p', String(p), 'cluster', 'info']).then((r) => r.stdout)));
        return states.every((s) => s.includes('cluster_state:ok'));
      },
      15_000,
      'the Redis Cluster',
      50,
    );
    redis = { cluster: ports.map((port) => ({ host: '127.0.0.1', port })) };
    admin = await openRedis(redis, { name: 'test-admin' });
  }, 40_000);

  afterAll(async () => {
    if (admin) await closeRedis(admin, 1_000);
    await Promise.all(servers.map((s) => stopRedisServer(s)));
  }, 10_000);

  it('has three masters that share the slots', async () => {
    expect(masters(admin)).toHaveLength(3);
    const counts = await Promise.all(masters(admin).map((m) => m.dbsize()));
    expect(counts).toHaveLength(3);
  });

  describeBrokerContract('RedisBroker on Redis Cluster', (nodes) => redisBrokerCluster(redis, admin, nodes, NODE_TTL_MS));

  describePresenceContract('RedisPresenceTracker on Redis Cluster', (opts) => redisPresenceCluster(redis, admin, opts));

  describeRateLimiterContract('RedisRateLimiter on Redis Cluster', (nodes) => redisLimiterCluster(redis, admin, nodes));
});

function startServer(port: number): Promise<RedisServer> {
  return startRedisServer(port, {
    args: ['--cluster-enabled', 'yes', '--cluster-config-file', '{dir}/nodes.conf', '--cluster-node-timeout', '5000', '--daemonize', 'no'],
  });
}

/** Ports whose cluster bus port (port + 10000) is free as well. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (ports.includes(port)) continue;
    if ((await canListen(port)) && (await canListen(port + 10_000))) ports.push(port);
  }
  return ports;
}
