import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  defaultWorkspace,
  LOCK_FILE,
  prepareWorkspace,
  resolveWorkspace,
  WorkspaceBusyError,
  WorkspaceLock,
} from '../../main/store/workspace'
import { freshDirs } from '../helpers/workspace'

const fresh = freshDirs()

describe('the workspace folder', () => {
  it("defaults to the user's data folder on each platform", () => {
    expect(defaultWorkspace('linux', {}, '/home/ada')).toBe('/home/ada/.local/share/co-rewarding-workbench')
    expect(defaultWorkspace('linux', { XDG_DATA_HOME: '/data' }, '/home/ada')).toBe('/data/co-rewarding-workbench')
    expect(defaultWorkspace('darwin', {}, '/Users/ada')).toBe('/Users/ada/Library/Application Support/co-rewarding-workbench')
    expect(defaultWorkspace('win32', { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, 'C:\\Users\\ada')).toContain(
      'co-rewarding-workbench',
    )
  })

  it('takes --workspace over CWB_WORKSPACE over the default', () => {
    expect(resolveWorkspace('/a', { CWB_WORKSPACE: '/b' })).toBe('/a')
    expect(resolveWorkspace(undefined, { CWB_WORKSPACE: '/b' })).toBe('/b')
    expect(resolveWorkspace(undefined, { XDG_DATA_HOME: '/x' })).toBe('/x/co-rewarding-workbench')
  })

  it('refuses a workspace path that is a file, naming it', () => {
    const file = join(fresh(), 'not-a-folder')
    writeFileSync(file, 'x')
    expect(() => prepareWorkspace(file)).toThrow(`Cannot use ${file} as the workspace: it is a file`)
  })
})

describe('the workspace lock', () => {
  it('refuses a second app or server on the same workspace, saying who holds it', () => {
    const dir = fresh()
    const first = WorkspaceLock.acquire(dir, 'serve')
    first.update({ url: 'http://127.0.0.1:5555/' })
    expect(() => WorkspaceLock.acquire(dir, 'app')).toThrow(WorkspaceBusyError)
    expect(() => WorkspaceLock.acquire(dir, 'app')).toThrow(
      /already open in cwb serve at http:\/\/127\.0\.0\.1:5555\/, process \d+/,
    )
    first.release()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
    WorkspaceLock.acquire(dir, 'app').release()
  })

  it('takes over a lock left behind by a process that died', () => {
    const dir = fresh()
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), kind: 'serve', since: '' }))
    const lock = WorkspaceLock.acquire(dir, 'serve')
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid)
    lock.release()
  })
})
