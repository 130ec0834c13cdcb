import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { electronBinaryPath, electronPackage } from '../../main/launch/electron'
import { root } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'

const electronInstalled = existsSync(electronBinaryPath(electronPackage(), {}))

describe('npm start where Electron cannot be downloaded', () => {
  it.skipIf(electronInstalled)('prints one clear line that names the cause and suggests cwb serve, with no stack trace', () => {
    const cache = tempDir()
    try {
      // An unreachable mirror and an empty cache make the download fail the same way on any machine.
      const result = spawnSync(process.execPath, [join(root, 'out/main/start.js')], {
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          ...process.env,
          ELECTRON_MIRROR: 'http://127.0.0.1:9/',
          electron_config_cache: cache.dir,
          ELECTRON_OVERRIDE_DIST_PATH: '',
        },
      })
      expect(result.status).toBe(1)
      const lines = result.stderr.trimEnd().split('\n')
      expect(lines.at(-1)).toMatch(
        /^Cannot open the desktop app: Electron's binary could not be downloaded \(.+\)\. Use the workbench in a browser instead: npx cwb serve$/,
      )
      expect(lines.filter((line) => !line.startsWith('Downloading Electron'))).toHaveLength(1)
      expect(result.stderr).not.toMatch(/^\s+at /m)
      expect(result.stdout).toBe('')
    } finally {
      cache.remove()
    }
  })

  it('names a wrong ELECTRON_OVERRIDE_DIST_PATH in one line', () => {
    const empty = tempDir()
    try {
      const result = spawnSync(process.execPath, [join(root, 'out/main/start.js')], {
        encoding: 'utf8',
        env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: empty.dir },
      })
      expect(result.status).toBe(1)
      expect(result.stderr).toBe(
        `Cannot open the desktop app: ELECTRON_OVERRIDE_DIST_PATH is set but ${join(empty.dir, 'electron')} does not exist. Use the workbench in a browser instead: npx cwb serve\n`,
      )
    } finally {
      empty.remove()
    }
  })
})
