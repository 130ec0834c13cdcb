import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { causeOf, electronBinaryPath, electronPackage } from '../../main/launch/electron'
import { tempDir } from '../helpers/workspace'

describe('npm start, before Electron runs', () => {
  it('reads the installed electron package: version and ABI', () => {
    const pkg = electronPackage()
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(pkg.abi).toMatch(/^\d+$/)
  })

  it('looks for the binary where electron keeps it, or under ELECTRON_OVERRIDE_DIST_PATH', () => {
    const { dir, remove } = tempDir()
    try {
      mkdirSync(join(dir, 'pkg'))
      writeFileSync(join(dir, 'pkg', 'path.txt'), 'electron')
      const pkg = { dir: join(dir, 'pkg'), version: '45.5.0', abi: '150' }
      expect(electronBinaryPath(pkg, {})).toBe(join(dir, 'pkg', 'dist', 'electron'))
      expect(electronBinaryPath(pkg, { ELECTRON_OVERRIDE_DIST_PATH: '/opt/e' })).toBe('/opt/e/electron')
    } finally {
      remove()
    }
  })

  it('names the network cause of a failed download rather than a stack frame', () => {
    const output =
      'TypeError: fetch failed\n    at node:internal/deps/undici\n  [cause]: Error: getaddrinfo ENOTFOUND github.com\n    at x'
    expect(causeOf(output)).toBe('[cause]: Error: getaddrinfo ENOTFOUND github.com')
    expect(causeOf('TypeError: fetch failed\n    at y')).toBe('TypeError: fetch failed')
    expect(causeOf('')).toBe('no output')
  })
})
