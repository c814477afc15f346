import { randomBytes } from 'node:crypto';
import { POSTGRES_URL, REDIS_URL, reachable } from './service-urls.js';

/*
 * Real PostgreSQL and Redis for the suites that need them. Under CI
 * (CI=true) a missing service is a failure, never a skip; elsewhere the suite
 * is skipped with a line saying which and why.
 */

export { POSTGRES_URL, REDIS_URL } from './service-urls.js';

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
