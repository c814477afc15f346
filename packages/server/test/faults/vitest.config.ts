import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The fault-injection suite (`npm run test:faults`): kills and restarts real
// processes and private PostgreSQL / Redis instances, so it is kept out of
// the default `npm test` run and its files run one at a time.
export default defineConfig({
  root: fileURLToPath(new URL('../../../../', import.meta.url)),
  resolve: { conditions: ['@confab/source'] },
  ssr: { resolve: { conditions: ['@confab/source'] } },
  test: {
    name: 'faults',
    include: ['packages/server/test/faults/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    // Servers spawned by these tests keep their data where the test puts it, never in a shared backend.
    env: { CONFAB_TEST_BACKEND: 'embedded' },
  },
});
