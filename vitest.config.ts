import net from 'node:net';
import { defineConfig } from 'vitest/config';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// The integration, end-to-end and browser suites run twice: on the embedded
// configuration and on PostgreSQL + Redis. Under CI a missing service is a
// failure (the distributed project runs and fails); elsewhere that project is
// left out with a note saying so.
const servicesUp = (await reachable('127.0.0.1', 5432)) && (await reachable('127.0.0.1', 6379));
const distributed = servicesUp || process.env.CI === 'true';
if (!distributed) {
  console.warn('SKIPPED: the distributed project (integration, e2e, browser and cluster suites on PostgreSQL + Redis) needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.');
}

const endToEnd = ['packages/server/test/integration/**/*.test.ts', 'packages/server/test/e2e/**/*.test.ts', 'packages/web/test/**/*.test.ts'];

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript sources in tests, so no build is needed.
    conditions: ['@confab/source'],
  },
  ssr: { resolve: { conditions: ['@confab/source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'embedded',
          include: ['packages/*/src/**/*.test.ts', ...endToEnd],
        },
      },
      ...(distributed
        ? [
            {
              extends: true as const,
              test: {
                name: 'distributed',
                include: [...endToEnd, 'packages/server/test/cluster/**/*.test.ts'],
                env: { CONFAB_TEST_BACKEND: 'distributed' },
              },
            },
          ]
        : []),
    ],
  },
});
