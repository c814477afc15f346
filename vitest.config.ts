import { defineConfig } from 'vitest/config';
import { POSTGRES_URL, REDIS_URL, reachable } from './packages/server/test/support/service-urls.js';

// The integration, end-to-end and browser suites run twice: on the embedded
// configuration and on PostgreSQL + Redis. Under CI a missing service is a
// failure (the distributed project runs and fails); elsewhere that project is
// left out with a note saying so.
const servicesUp = (await reachable(POSTGRES_URL, 5432)) && (await reachable(REDIS_URL, 6379));
const distributed = servicesUp || process.env.CI === 'true';
if (!distributed) {
  console.warn(`SKIPPED: the distributed project (integration, e2e, browser and cluster suites on PostgreSQL + Redis) needs PostgreSQL at ${POSTGRES_URL} and Redis at ${REDIS_URL}.`);
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
          include: ['packages/*/src/**/*.test.ts', 'bench/**/*.test.ts', ...endToEnd],
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
