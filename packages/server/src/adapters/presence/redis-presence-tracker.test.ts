import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisAvailable, uniqueName } from '../../../test/support/services.js';
import { redisPresenceCluster } from '../../../test/support/redis-contract-clusters.js';
import { sleep, until } from '../../../test/support/wait.js';
import { describePresenceContract } from '../../presence/presence-tracker.contract.js';
import { deleteKeysWithPrefix } from '../redis/connect.js';
import { RedisPresenceTracker } from './redis-presence-tracker.js';

describe.runIf(redisAvailable)('RedisPresenceTracker', () => {
  const redis = { url: REDIS_URL };
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });

  describePresenceContract('RedisPresenceTracker', (opts) => redisPresenceCluster(redis, admin, opts));

  describe('keys', () => {
    let prefix: string;
    const open: RedisPresenceTracker[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
      await deleteKeysWithPrefix(admin, prefix);
    });
    async function tracker(timeoutMs: number): Promise<RedisPresenceTracker> {
      const t = await RedisPresenceTracker.open({ redis, keyPrefix: prefix, timeoutMs, sweepIntervalMs: 50 });
      open.push(t);
      return t;
    }

    it('leaves nothing behind once users are gone, by disconnect or by expiry', async () => {
      prefix = `${uniqueName('presence')}:`;
      const t = await tracker(300);
      const expired: string[] = [];
      t.onExpired((u) => expired.push(u));
      await t.connect('u_left', 'c1', Date.now());
      await t.connect('u_dead', 'c2', Date.now());
      expect(await admin.zcard(`${prefix}presence-expiry`)).toBe(2);
      expect(await t.disconnect('u_left', 'c1', Date.now())).toBe(true);
      expect(await admin.exists(`${prefix}presence:{u_left}`)).toBe(0);
      await until(() => expired.length === 1 && Promise.resolve(true));
      expect(expired).toEqual(['u_dead']);
      await until(async () => (await admin.exists(`${prefix}presence:{u_dead}`, `${prefix}presence-expiry`)) === 0);
    });

    it('expires a large batch of users once each', async () => {
      prefix = `${uniqueName('presence')}:`;
      const [a, b] = [await tracker(300), await tracker(300)];
      const expired: string[] = [];
      a.onExpired((u) => expired.push(u));
      b.onExpired((u) => expired.push(u));
      const users = Array.from({ length: 1_200 }, (_, i) => `u_${i}`);
      await Promise.all(users.map((u, i) => (i % 2 ? a : b).connect(u, `c_${i}`, Date.now())));
      await until(() => expired.length >= users.length, 10_000);
      await sleep(200);
      expect(expired.sort()).toEqual([...users].sort());
    });

    it('puts back its connections when Redis lost them', async () => {
      prefix = `${uniqueName('presence')}:`;
      const t = await tracker(60_000);
      await t.connect('u_1', 'c1', Date.now());
      await t.connect('u_2', 'c2', Date.now());
      await t.disconnect('u_2', 'c2', Date.now());
      await admin.del(`${prefix}presence:{u_1}`, `${prefix}presence-expiry`);
      expect(await t.online(['u_1'])).toEqual(new Set());
      const clients = (await admin.client('LIST')) as string;
      const ids = clients
        .split('\n')
        .filter((line) => line.includes(` name=confab-presence:${prefix} `))
        .map((line) => /\bid=(\d+)/.exec(line)![1]!);
      expect(ids).toHaveLength(1);
      await admin.client('KILL', 'ID', ids[0]!);
      await until(async () => (await t.online(['u_1', 'u_2']).catch(() => new Set())).has('u_1'));
      expect(await t.online(['u_1', 'u_2'])).toEqual(new Set(['u_1']));
      expect(await admin.zscore(`${prefix}presence-expiry`, 'u_1')).not.toBeNull();
    });
  });
});
