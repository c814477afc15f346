import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLimiterCluster } from '../../../test/support/redis-contract-clusters.js';
import { REDIS_URL, redisAvailable, uniqueName } from '../../../test/support/services.js';
import { describeRateLimiterContract } from '../../limits/rate-limiter.contract.js';
import { perWindow } from '../../limits/token-bucket.js';
import { deleteKeysWithPrefix } from '../redis/connect.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

describe.runIf(redisAvailable)('RedisRateLimiter', () => {
  const redis = { url: REDIS_URL };
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });

  describeRateLimiterContract('RedisRateLimiter', (nodes) => redisLimiterCluster(redis, admin, nodes));

  it('keeps a bucket only until it would be full again', async () => {
    const prefix = `${uniqueName('limits')}:`;
    const l = await RedisRateLimiter.open({ redis, keyPrefix: prefix });
    try {
      const now = Date.now();
      await l.take('k', perWindow(4, 1_000), 1, now);
      const ttl = await admin.pttl(`${prefix}limit:k`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(250);
      await l.take('k', perWindow(4, 1_000), -1, now);
      expect(await admin.exists(`${prefix}limit:k`)).toBe(0);
    } finally {
      await l.close();
      await deleteKeysWithPrefix(admin, prefix);
    }
  });
});
