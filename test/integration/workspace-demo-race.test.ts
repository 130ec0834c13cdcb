// Two processes opening a new workspace at once (two `cwb train` started together on a new folder): the second one
// used to find the database the first had just created, without the demo dataset it was still storing, and failed
// with 'no dataset "demo-arithmetic"'. Now it joins the setup and both see the demo.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { assertBuilt, cliPath, lastJson, root } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()

function datasets(workspace: string, delayMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    setTimeout(() => {
      const child = spawn(process.execPath, [cliPath, 'datasets', '--workspace', workspace, '--json'], {
        cwd: root,
        env: { ...process.env, CWB_WORKSPACE: '', CWB_DEMO: '1' },
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      child.on('close', (code) => resolve({ code, stdout, stderr }))
    }, delayMs)
  })
}

describe('a new workspace opened by two processes at once', () => {
  it('gives both the demo dataset, whichever opens it first, and leaves no setup marker', async () => {
    assertBuilt()
    for (const delay of [0, 0, 0, 150, 400]) {
      const workspace = join(folder(), 'ws')
      const results = await Promise.all([datasets(workspace, 0), datasets(workspace, delay)])
      for (const result of results) {
        expect(result.code, result.stderr).toBe(0)
        const names = lastJson<{ datasets: { name: string }[] }>(result.stdout).datasets.map((d) => d.name)
        expect(names, `delay ${delay} ms`).toEqual(['demo-arithmetic'])
      }
      expect(existsSync(join(workspace, '.demo-setup'))).toBe(false)
      expect(existsSync(join(workspace, 'models', 'demo-base', 'model.safetensors'))).toBe(true)
    }
  }, 120_000)
})
