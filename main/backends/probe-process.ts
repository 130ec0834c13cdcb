import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { Backend } from '../../preload/contract'
import { packageRoot } from '../package-root'

/** Runs out/main/probe.js in a child process (Electron runs it as plain Node) and returns its report. */
export function probeInChildProcess(signal?: AbortSignal, timeoutMs = 60_000): Promise<Backend[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot(), 'out', 'main', 'probe.js')], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      signal,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line) as Backend[])
      } catch {
        reject(new Error(`The backend probe exited with code ${code}: ${stderr.trim().split('\n').pop() ?? 'no output'}`))
      }
    })
  })
}
