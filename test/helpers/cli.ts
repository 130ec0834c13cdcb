// Runs the built `cwb` (out/main/cli.js, as `npx cwb` does) in a child process.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tempDir, type Cleanup } from './workspace'

export const root = resolve(import.meta.dirname, '..', '..')
export const cliPath = join(root, 'out', 'main', 'cli.js')

export function assertBuilt(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first (npm test does).`)
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the built cwb; `input` is written to its stdin. */
export function cwb(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): CliResult {
  assertBuilt()
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
    env: { ...process.env, CWB_WORKSPACE: '', CWB_TOKEN: '', CWB_DEMO: '0', ...env },
    timeout: 60_000,
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** The last line of a command's stdout, parsed: with --json, cwb prints its result there. */
export const lastJson = <T = Record<string, unknown>>(stdout: string): T => JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as T

export interface Served {
  url: string
  base: string
  token: string
  process: ChildProcessWithoutNullStreams
  stderr: () => string
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Calls an API method of a served host over HTTP with its token; a refusal throws with the method and message. */
export async function callApi<T>(served: Served, method: string, params: unknown): Promise<T> {
  const response = await fetch(`${served.base}api/call/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  })
  const reply = (await response.json()) as { ok: boolean; result: T; error?: { message: string } }
  if (!reply.ok) throw new Error(`${method}: ${reply.error?.message}`)
  return reply.result
}

/** Starts `cwb serve --port 0` and resolves once it prints its one ready line. */
export function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  assertBuilt()
  const child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', ...args], {
    cwd: root,
    env: { ...process.env, CWB_TOKEN: '', CWB_DEMO: '0', ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
  return new Promise((resolveServed, reject) => {
    const timer = setTimeout(() => reject(new Error(`cwb serve did not start: ${stderr}`)), 20_000)
    void exited.then((code) => reject(new Error(`cwb serve exited with ${code}: ${stderr}`)))
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /^Workbench at (http:\/\/[^/]+\/)\?token=(\S+)\n/m.exec(stdout)
      if (!match) return
      clearTimeout(timer)
      resolveServed({
        url: `${match[1]}?token=${match[2]}`,
        base: match[1]!,
        token: match[2]!,
        process: child,
        stderr: () => stderr,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null) child.kill(signal)
          return exited
        },
      })
    })
  })
}

/** `cwb serve` on a fresh workspace; `cleanups` stops it and removes the folder. */
export async function serveTempWorkspace(
  cleanups: Cleanup[],
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Served & { workspace: string }> {
  const { dir, remove } = tempDir()
  cleanups.push(remove)
  const served = await serve(['--workspace', dir, ...args], env)
  cleanups.push(() => served.stop())
  return { ...served, workspace: dir }
}
