import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Interop tests drive real peers (SIPp, Kamailio, freeDiameter): `npm run test:interop`.
    exclude: ['test/interop/**', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Network tests bind fixed loopback addresses; files run in parallel workers, tests inside a file in order.
    pool: 'forks',
  },
});
