import { randomBytes } from 'node:crypto';
import net from 'node:net';

/*
 * Real PostgreSQL and Redis for the suites that need them. Under CI
 * (CI=true) a missing service is a failure, never a skip; elsewhere the suite
 * is skipped with a line saying which and why.
 */

export const POSTGRES_URL = process.env.CONFAB_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.CONFAB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function decide(name: string, url: string, port: number): Promise<boolean> {
  if (await reachable(url, port)) return true;
  if (process.env.CI === 'true') return true; // let the suite run and fail loudly
  console.warn(`SKIPPED: ${name} is not reachable at ${url}; its suites did not run (set CI=true to make this a failure).`);
  return false;
}

export const postgresAvailable = await decide('PostgreSQL', POSTGRES_URL, 5432);
export const redisAvailable = await decide('Redis', REDIS_URL, 6379);

/** A unique, lower-case name for a test database or key prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
