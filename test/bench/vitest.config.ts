import { defineConfig } from 'vitest/config'

// `npm run bench`: benchmarks print their tables; they are not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/bench/**/*.bench.ts'],
    testTimeout: 1_800_000,
    pool: 'forks',
    fileParallelism: false,
  },
})
