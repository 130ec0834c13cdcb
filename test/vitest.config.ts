import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest runs cores − 1 files at a time by default: one at a time on a two-core machine, although most files spend
    // their time waiting on the processes they start (cwb, trainers, the Python reference). Two files at a time at least.
    maxWorkers: Math.max(2, availableParallelism()),
  },
})
