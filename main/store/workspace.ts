// The workspace: a folder holding the run store (workbench.db), checkpoints and exports. CLI commands may
// share it with a running app or `cwb serve` (SQLite WAL); only one app or server may hold it at a time.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { hostname, homedir } from 'node:os'
import { join, resolve } from 'node:path'

export const DATABASE_FILE = 'workbench.db'
export const LOCK_FILE = 'workbench.lock'
const APP_FOLDER = 'co-rewarding-workbench'

/** The per-user data folder, the same one the desktop app and the CLI use when nothing overrides it. */
export function defaultWorkspace(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), APP_FOLDER)
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', APP_FOLDER)
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), APP_FOLDER)
}

/** `--workspace DIR` wins over `CWB_WORKSPACE`, which wins over the per-user default. */
export function resolveWorkspace(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option || env.CWB_WORKSPACE || defaultWorkspace(process.platform, env))
}

/** Creates the folder if needed; refuses a path that is a file or cannot be written, naming it. */
export function prepareWorkspace(dir: string): { dir: string; database: string } {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new Error(`Cannot use ${dir} as the workspace: it is a file. Pass --workspace DIR with a folder.`)
  }
  try {
    mkdirSync(dir, { recursive: true })
  } catch (error) {
    throw new Error(
      `Cannot use ${dir} as the workspace: ${(error as Error).message}. Pass --workspace DIR with a writable folder.`,
      { cause: error },
    )
  }
  return { dir, database: join(dir, DATABASE_FILE) }
}

export interface LockOwner {
  pid: number
  host: string
  kind: 'app' | 'serve'
  url?: string
  since: string
}

/** Whether a process of this machine is alive (EPERM: alive, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner
  } catch {
    return undefined
  }
}

export class WorkspaceBusyError extends Error {}

/** Holds `workbench.lock` for the lifetime of an app or server; a lock left by a dead process is taken over. */
export class WorkspaceLock {
  private released = false

  private constructor(
    readonly file: string,
    readonly owner: LockOwner,
  ) {}

  static acquire(dir: string, kind: LockOwner['kind']): WorkspaceLock {
    const file = join(dir, LOCK_FILE)
    const owner: LockOwner = { pid: process.pid, host: hostname(), kind, since: new Date().toISOString() }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx')
        writeSync(fd, JSON.stringify(owner))
        closeSync(fd)
        return new WorkspaceLock(file, owner)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const holder = readOwner(file)
        if (holder && holder.host === owner.host && processAlive(holder.pid)) {
          const what = holder.kind === 'serve' ? `cwb serve${holder.url ? ` at ${holder.url}` : ''}` : 'the desktop app'
          throw new WorkspaceBusyError(
            `Workspace ${dir} is already open in ${what}, process ${holder.pid}. Use that window, stop it first, or pass --workspace DIR for another workspace.`,
          )
        }
        rmSync(file, { force: true })
      }
    }
    throw new WorkspaceBusyError(`Could not lock workspace ${dir}: another process keeps taking ${file}.`)
  }

  /** Records where the server listens, so a refused second server can say where the first one is. */
  update(fields: Partial<Pick<LockOwner, 'url'>>): void {
    Object.assign(this.owner, fields)
    const fd = openSync(this.file, 'w')
    writeSync(fd, JSON.stringify(this.owner))
    closeSync(fd)
  }

  release(): void {
    if (this.released) return
    this.released = true
    if (readOwner(this.file)?.pid === this.owner.pid) rmSync(this.file, { force: true })
  }
}
