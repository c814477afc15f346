import { Redis } from 'ioredis';
import { describe } from 'vitest';
import { REDIS_URL, redisAvailable, uniqueName } from '../../../test/support/services.js';
import { describeNodeRegistryContract } from '../../discovery/node-registry.contract.js';
import { RedisNodeRegistry } from './redis-node-registry.js';

describe.runIf(redisAvailable)('RedisNodeRegistry', () => {
  describeNodeRegistryContract('RedisNodeRegistry', async (now) => {
    const redis = new Redis(REDIS_URL);
    const prefix = `${uniqueName('confab-test')}:`;
    return {
      registry: new RedisNodeRegistry(redis, prefix, now),
      async cleanup() {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      },
    };
  });
});
