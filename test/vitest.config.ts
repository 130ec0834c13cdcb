import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

/**
 * Unit tests that need a process of their own: those that mock Electron's modules (vi.mock), which must not leak into
 * the files a worker runs after them, and the peak-memory test, which reads the whole process's resident memory (in a
 * worker that other files had grown, V8 handing pages back while it measured failed it on CI).
 */
const OWN_PROCESS = [
  'test/unit/electron-security.test.ts',
  'test/unit/quit-confirm.test.ts',
  'test/unit/trainer-process-electron-mocked.test.ts',
  'test/unit/peak-memory.test.ts',
]

export default defineConfig({
  test: {
    // Generous: many tests run the CLI, trainers and the Python reference in child processes, on a loaded two-core machine
    // (a test without its own limit took 25 s beside the others here, against the old 30 s default; CI failed in vitest
    // after taking a tenth longer than here). A hang still fails, within two minutes.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest runs cores − 1 files at a time by default: one at a time on a two-core machine, although most files spend
    // their time waiting on the processes they start (cwb, trainers, the Python reference). Two files at a time at least.
    maxWorkers: Math.max(2, availableParallelism()),
    projects: [
      {
        // Unit tests share their modules within a worker instead of importing them again for every file: the 58 files
        // took 29 s that way against 119 s, most of it spent importing tfjs, onnxruntime and the engine again and again.
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude: OWN_PROCESS, isolate: false },
      },
      {
        // Each file in a process of its own: integration tests own processes, workspaces and the tfjs backend, and the
        // unit tests above replace modules with vi.mock or measure the process.
        extends: true,
        test: { name: 'isolated', include: ['test/integration/**/*.test.ts', ...OWN_PROCESS] },
      },
    ],
  },
})
