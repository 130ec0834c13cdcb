// `npm test`: typecheck, lint, build, the bad-input corpus, unit + integration tests (vitest), end-to-end tests (Playwright in
// Chromium). Each suite prints its duration; all suites run, and the exit code is non-zero if any failed. Typecheck and
// lint each use one core and need nothing from each other, so they run side by side (their output printed whole, one
// after the other); the rest run one at a time, each using every core.
import { Buffer } from 'node:buffer'
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { stripVTControlCharacters } from 'node:util'

const stages = [
  [
    ['typecheck', 'npm', ['run', '--silent', 'typecheck']],
    ['lint', 'npm', ['run', '--silent', 'lint']],
  ],
  [['build', 'npx', ['electron-vite', 'build']]],
  // The bad-input corpus (test/corpus/run.mjs): malformed files, configs, folders, logs and requests against one cwb serve.
  [['corpus', 'node', ['test/corpus/run.mjs']]],
  [['vitest', 'npx', ['vitest', 'run', '--config', 'test/vitest.config.ts']]],
  [['playwright', 'npx', ['playwright', 'test', '-c', 'test/e2e/playwright.config.ts']]],
]

// Vitest and Playwright run two files at a time, and their cwb processes and trainers each open onnxruntime sessions:
// one onnxruntime thread per process (unless the caller set CWB_THREADS) keeps them from spinning against each other
// on a small machine. test/unit/threads.test.ts covers the default of every physical core.
const env = { ...process.env, FORCE_COLOR: '0', CWB_THREADS: process.env.CWB_THREADS ?? '1' }

/** Runs a suite; alone it streams its output, beside another it keeps it for printing when done. Either way the output
 * is kept, so that a failed suite's failing tests can be named again at the very end (CI shows only the log's tail). */
function run([name, command, args], alone) {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'pipe'], env })
    const output = []
    const keep = (stream) => (chunk) => {
      output.push(chunk)
      if (alone) stream.write(chunk)
    }
    child.stdout.on('data', keep(process.stdout))
    child.stderr.on('data', keep(process.stderr))
    child.on('close', (status) => {
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      resolve({ name, ok: status === 0, seconds, output: Buffer.concat(output) })
    })
  })
}

const results = []
for (const stage of stages) {
  if (stage.length === 1) process.stdout.write(`\n=== ${stage[0][0]} ===\n`)
  else process.stdout.write(`\n=== ${stage.map(([name]) => name).join(' + ')} (side by side) ===\n`)
  for (const result of await Promise.all(stage.map((suite) => run(suite, stage.length === 1)))) {
    if (stage.length > 1) process.stdout.write(`\n--- ${result.name} ---\n${result.output}`)
    results.push(result)
    process.stdout.write(`=== ${result.name}: ${result.ok ? 'passed' : 'FAILED'} in ${result.seconds} s ===\n`)
  }
}

// The lines that name what failed (vitest's "FAIL file > test", Playwright's "✘ ..." and "N) ..."), at most 40 per suite.
const failureLine = /(^|\s)(FAIL\s|✘|×\s|\d+\) )|Test Files|Tests\s+\d|\d+ (failed|flaky)/
for (const { name, output } of results.filter((r) => !r.ok)) {
  // Colour codes off: the suites colour their output even into a pipe.
  const lines = stripVTControlCharacters(output.toString())
    .split('\n')
    .filter((line) => failureLine.test(line))
  process.stdout.write(`\n--- what failed in ${name} ---\n${[...new Set(lines)].slice(0, 40).join('\n')}\n`)
}
process.stdout.write('\n')
for (const { name, ok, seconds } of results)
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(10)} ${seconds.padStart(6)} s\n`)
const failed = results.filter((r) => !r.ok).length
process.stdout.write(`suites: ${results.length - failed} passed, ${failed} failed\n`)
process.exit(failed === 0 ? 0 : 1)
