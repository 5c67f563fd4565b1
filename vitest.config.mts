import { defineConfig } from 'vitest/config';

// One run for the whole monorepo. Unit tests (`*.test.ts`) run anywhere; integration tests
// (`*.integration.test.ts`) and browser tests (`*.browser.test.ts`) need the services that
// scripts/services.sh starts, which `npm test` does first.
export default defineConfig({
  test: {
    include: [
      'packages/*/{src,test}/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
