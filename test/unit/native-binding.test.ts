import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { electronBindingPath, sqliteBindingFor } from '../../main/store/native-binding'

const root = '/opt/workbench'

describe('the better-sqlite3 loader', () => {
  it("lets plain Node (tests, CLI, serve) use better-sqlite3's own build", () => {
    expect(sqliteBindingFor({ modules: '115' }, root, {})).toBeUndefined()
  })

  it('gives Electron (runtime mocked) the build for its own ABI, kept apart from the Node build', () => {
    const expected = electronBindingPath(root, '150')
    expect(expected).toBe(
      join(root, 'node_modules/.cache/co-rewarding-workbench/better-sqlite3-electron-abi150/better_sqlite3.node'),
    )
    expect(sqliteBindingFor({ electron: '45.5.0', modules: '150' }, root, {}, (path) => path === expected)).toBe(expected)
  })

  it('keeps one folder per Electron ABI, so upgrading Electron never loads a stale build', () => {
    expect(electronBindingPath(root, '150')).not.toBe(electronBindingPath(root, '151'))
  })

  it('honours CWB_SQLITE_BINDING, which npm start sets for the app', () => {
    const env = { CWB_SQLITE_BINDING: '/elsewhere/better_sqlite3.node' }
    expect(sqliteBindingFor({ electron: '45.5.0', modules: '150' }, root, env, () => true)).toBe('/elsewhere/better_sqlite3.node')
  })

  it('explains a missing Electron build instead of failing inside SQLite', () => {
    expect(() => sqliteBindingFor({ electron: '45.5.0', modules: '150' }, root, {}, () => false)).toThrow(
      /SQLite module for Electron 45\.5\.0 \(ABI 150\) is missing .*npm start/,
    )
  })
})
