import pg from 'pg';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/adapters/redis/connect.js';
import { spawnServer, type ServerProcess } from '../support/process.js';
import { POSTGRES_URL, REDIS_URL, uniqueName } from '../support/services.js';

export interface Cluster {
  nodes: ServerProcess[];
  schema: string;
  prefix: string;
  /** Starts one more node (or restarts one) on the same database and Redis. */
  startNode(id: string, extra?: Record<string, string>): Promise<ServerProcess>;
  stop(): Promise<void>;
}

/**
 * Real server processes sharing one PostgreSQL schema and one Redis key
 * prefix that no other test uses; both are removed at the end. `services`
 * points them at other instances than the shared ones (e.g. private ones a
 * fault test stops and restarts).
 */
export async function startCluster(count: number, extra: Record<string, string> = {}, services: { postgresUrl: string; redisUrl: string } = { postgresUrl: POSTGRES_URL, redisUrl: REDIS_URL }): Promise<Cluster> {
  const schema = uniqueName('confab_cluster');
  const prefix = `${uniqueName('confab-cluster')}:`;
  const base = {
    DATABASE_URL: services.postgresUrl,
    DATABASE_SCHEMA: schema,
    REDIS_URL: services.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    HEARTBEAT_MS: '500',
    PRESENCE_TIMEOUT_MS: '2000',
    SHUTDOWN_GRACE_MS: '500',
    LOG_LEVEL: 'warn',
    ...extra,
  };
  const nodes: ServerProcess[] = [];
  const spawn = (id: string, more: Record<string, string> = {}) => spawnServer({ ...base, NODE_ID: id, LOG_LEVEL: 'info', ...more });
  const startNode = async (id: string, more: Record<string, string> = {}) => {
    const node = await spawn(id, more);
    nodes.push(node);
    return node;
  };
  // The first node migrates the schema; the others then start in parallel.
  // nodes[i] is always `node${i + 1}`, whichever finished starting first.
  await startNode('node1');
  nodes.push(...(await Promise.all(Array.from({ length: count - 1 }, (_, i) => spawn(`node${i + 2}`)))));
  return {
    nodes,
    schema,
    prefix,
    startNode,
    async stop() {
      await Promise.all(
        nodes.map(async (n) => {
          if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
          await n.exited;
        }),
      );
      const db = new pg.Client({ connectionString: services.postgresUrl });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.end();
      const redis = new Redis(services.redisUrl);
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    },
  };
}
