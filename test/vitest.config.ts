import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    // Generous: many tests run the CLI, trainers and the Python reference in child processes, on a loaded two-core machine
    // (a test without its own limit took 25 s beside the others here, against the old 30 s default; CI failed in vitest
    // after taking a tenth longer than here). A hang still fails, within two minutes.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest runs cores − 1 files at a time by default: one at a time on a two-core machine, although most files spend
    // their time waiting on the processes they start (cwb, trainers, the Python reference). Two files at a time at least.
    maxWorkers: Math.max(2, availableParallelism()),
  },
})
