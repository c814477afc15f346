import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/adapters/redis/connect.js';
import type { Config } from '../../src/config.js';
import { POSTGRES_URL, REDIS_URL } from './services.js';

/*
 * The same integration and end-to-end suites run on both configurations:
 * embedded (SQLite, in-process broker and presence) and distributed
 * (PostgreSQL + Redis), chosen by CONFAB_TEST_BACKEND. In the distributed
 * configuration a test server's "data directory" names its own PostgreSQL
 * schema and Redis key prefix, so a restart on the same data directory finds
 * the same data, and no two servers of different tests share anything.
 */
export const backend = process.env.CONFAB_TEST_BACKEND === 'distributed' ? 'distributed' : 'embedded';

function namesFor(dataDir: string): { schema: string; prefix: string } {
  const tag = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return { schema: `confab_t_${tag}`, prefix: `confab-t-${tag}:` };
}

/** Config for a test server whose data lives "in" dataDir. */
export function backendConfig(dataDir: string): Partial<Config> {
  if (backend === 'embedded') return {};
  const { schema, prefix } = namesFor(dataDir);
  return { databaseUrl: POSTGRES_URL, databaseSchema: schema, redisUrl: REDIS_URL, redisKeyPrefix: prefix };
}

/** The same, as environment variables for a server process. */
export function backendEnv(dataDir: string): Record<string, string> {
  if (backend === 'embedded') return {};
  const { schema, prefix } = namesFor(dataDir);
  return { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema, REDIS_URL, REDIS_KEY_PREFIX: prefix };
}

/** Removes what a distributed test server kept for dataDir. */
export async function dropBackend(dataDir: string): Promise<void> {
  if (backend === 'embedded') return;
  const { schema, prefix } = namesFor(dataDir);
  const db = new pg.Client({ connectionString: POSTGRES_URL });
  await db.connect();
  try {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await db.end();
  }
  const redis = new Redis(REDIS_URL);
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    await redis.quit();
  }
}

/** Every row of a table, read straight from the system of record (for checks of what is stored). */
export async function tableRows(dataDir: string, table: 'users' | 'devices'): Promise<Record<string, unknown>[]> {
  if (backend === 'embedded') {
    const db = new Database(join(dataDir, 'confab.db'), { readonly: true });
    try {
      return db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const db = new pg.Client({ connectionString: POSTGRES_URL });
  await db.connect();
  try {
    return (await db.query(`SELECT * FROM "${namesFor(dataDir).schema}".${table}`)).rows;
  } finally {
    await db.end();
  }
}
