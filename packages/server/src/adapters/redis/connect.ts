import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** Where Redis is: one server (or a proxy in front of one), or the seeds of a Redis Cluster. */
export type RedisConnectionOptions = { url: string } | { cluster: { host: string; port: number }[] };

export type RedisClient = Redis | Cluster;

export interface ClientOptions {
  /** Shown by CLIENT LIST, e.g. `confab-broker:node1`. */
  name: string;
  /** Connection problems; reported once per outage, not once per reconnect attempt. */
  onError?: (err: unknown) => void;
}

/**
 * Settings of every command connection: commands fail at once while Redis is
 * unreachable instead of queueing (nothing shared through Redis is worth
 * delivering late; the callers treat it as best-effort), commands in flight
 * when a connection drops are not resent, and commands issued in the same
 * tick travel as one pipeline per server (which on a cluster also groups them
 * by shard). Reconnection is automatic and unbounded.
 */
const COMMAND_OPTIONS: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
  /** A Redis that accepts the connection but does not answer must not hold callers forever. */
  commandTimeout: 5_000,
  retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000),
};

/** A subscriber keeps its offline queue: (re)subscriptions issued while reconnecting must not be lost. */
const SUBSCRIBER_OPTIONS: RedisOptions = {
  lazyConnect: true,
  autoResubscribe: true,
  retryStrategy: COMMAND_OPTIONS.retryStrategy,
};

export function isClusterOptions(options: RedisConnectionOptions): options is { cluster: { host: string; port: number }[] } {
  return 'cluster' in options;
}

/**
 * Parses `REDIS_CLUSTER_NODES`-style seeds ("host:port,host:port"); IPv6
 * hosts are written in brackets ("[::1]:7000").
 */
export function parseClusterNodes(list: string): { host: string; port: number }[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((seed) => {
      const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(seed);
      if (!m) throw new Error(`invalid Redis Cluster seed "${seed}" (expected host:port)`);
      return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
    });
}

/** A CLIENT SETNAME-safe name (no spaces or newlines). */
export function connectionName(...parts: string[]): string {
  return parts.join('').replace(/[^\w:.\-{}]/g, '_');
}

/** Opens a command connection and resolves once it is ready; rejects (and gives up) if the first attempt fails. */
export async function openRedis(options: RedisConnectionOptions, client: ClientOptions): Promise<RedisClient> {
  const redis = isClusterOptions(options)
    ? new Cluster(options.cluster, clusterOptions(COMMAND_OPTIONS, client.name, false))
    : new Redis(options.url, { ...COMMAND_OPTIONS, connectionName: client.name });
  return connect(redis, client.onError);
}

/**
 * Opens a connection for SUBSCRIBE (or, on a cluster, SSUBSCRIBE: one
 * connection per shard that owns a subscribed channel, kept by ioredis).
 */
export async function openSubscriber(options: RedisConnectionOptions, client: ClientOptions): Promise<RedisClient> {
  const redis = isClusterOptions(options)
    ? new Cluster(options.cluster, clusterOptions(SUBSCRIBER_OPTIONS, client.name, true))
    : new Redis(options.url, { ...SUBSCRIBER_OPTIONS, connectionName: client.name });
  return connect(redis, client.onError);
}

function clusterOptions(redisOptions: RedisOptions, name: string, sharded: boolean): ClusterOptions {
  const { enableOfflineQueue, enableAutoPipelining, lazyConnect, retryStrategy: _perNode, ...perNode } = redisOptions;
  return {
    lazyConnect,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableAutoPipelining: enableAutoPipelining ?? false,
    shardedSubscribers: sharded,
    clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000),
    redisOptions: { ...perNode, connectionName: name },
  };
}

async function connect<T extends RedisClient>(redis: T, onError: ((err: unknown) => void) | undefined): Promise<T> {
  // One report per outage: ioredis emits an error for every failed reconnect attempt.
  let reported = false;
  redis.on('error', (err: unknown) => {
    if (reported) return;
    reported = true;
    onError?.(err);
  });
  redis.on('ready', () => {
    reported = false;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}

/** QUIT (pending replies are read first), or drop the connection if that does not finish in time. */
export async function closeRedis(redis: RedisClient, timeoutMs = 2_000): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([redis.quit().then(() => undefined, () => undefined), timeout]);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

/** The masters to address individually (SCAN is per server); a plain connection is its own master. */
export function masters(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Deletes every key that starts with `prefix`, on every master. For removing
 * a deployment's (or a test's) shared state; not used on any request path.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let deleted = 0;
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      // One DEL per key: on a cluster, keys of different slots cannot share a command.
      if (keys.length > 0) deleted += (await Promise.all(keys.map((k) => node.del(k)))).reduce((a, b) => a + b, 0);
    } while (cursor !== '0');
  }
  return deleted;
}
