// `npm test`: typecheck, lint, build, the bad-input corpus, unit + integration tests (vitest), end-to-end tests (Playwright in
// Chromium). Each suite prints its duration; all suites run, and the exit code is non-zero if any failed.
import { spawnSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'

const suites = [
  ['typecheck', 'npm', ['run', '--silent', 'typecheck']],
  ['lint', 'npm', ['run', '--silent', 'lint']],
  ['build', 'npx', ['electron-vite', 'build']],
  // The bad-input corpus (test/corpus/run.mjs): malformed files, configs, folders, logs and requests against one cwb serve.
  ['corpus', 'node', ['test/corpus/run.mjs']],
  ['vitest', 'npx', ['vitest', 'run', '--config', 'test/vitest.config.ts']],
  ['playwright', 'npx', ['playwright', 'test', '-c', 'test/e2e/playwright.config.ts']],
]

const results = []
for (const [name, command, args] of suites) {
  process.stdout.write(`\n=== ${name} ===\n`)
  const started = performance.now()
  const { status } = spawnSync(command, args, { stdio: 'inherit' })
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  results.push({ name, ok: status === 0, seconds })
  process.stdout.write(`=== ${name}: ${status === 0 ? 'passed' : 'FAILED'} in ${seconds} s ===\n`)
}

process.stdout.write('\n')
for (const { name, ok, seconds } of results)
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(10)} ${seconds.padStart(6)} s\n`)
const failed = results.filter((r) => !r.ok).length
process.stdout.write(`suites: ${results.length - failed} passed, ${failed} failed\n`)
process.exit(failed === 0 ? 0 : 1)
