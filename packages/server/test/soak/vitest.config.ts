import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The bounded soak run (`npm run test:soak`): minutes of steady load against one
// real server process, so it is kept out of the default `npm test` run.
const durationMs = Number(process.env.SOAK_DURATION_MS ?? 120_000);

export default defineConfig({
  root: fileURLToPath(new URL('../../../../', import.meta.url)),
  resolve: { conditions: ['@confab/source'] },
  ssr: { resolve: { conditions: ['@confab/source'] } },
  test: {
    name: 'soak',
    include: ['packages/server/test/soak/**/*.test.ts'],
    testTimeout: durationMs + 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: { CONFAB_TEST_BACKEND: 'embedded' },
  },
});
