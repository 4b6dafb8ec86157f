import { defineConfig } from 'vitest/config';

/**
 * `npm run test:interop`: the HSS (and later the CSCFs) against real peers — freeDiameter, Kamailio's IMS
 * modules, SIPp, tshark — started as processes on loopback. Slow (peer timers run in real time), so kept
 * apart from the unit suite; each file skips with the reason when its peer is not installed.
 */
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
