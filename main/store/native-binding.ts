// better-sqlite3 ships one native build, compiled for the runtime that ran `npm install` (Node). Electron has
// its own ABI, so the desktop app loads a second build kept beside it; each runtime picks its own, and
// neither install overwrites the other (no rebuilding back and forth between `npm test` and `npm start`).
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export interface Runtime {
  /** `process.versions.electron`; undefined under plain Node. */
  electron?: string
  /** `process.versions.modules`: the ABI (NODE_MODULE_VERSION) native modules must be built for. */
  modules: string
}

export function electronBindingDir(packageRoot: string, abi: string): string {
  return join(packageRoot, 'node_modules', '.cache', 'co-rewarding-workbench', `better-sqlite3-electron-abi${abi}`)
}

export function electronBindingPath(packageRoot: string, abi: string): string {
  return join(electronBindingDir(packageRoot, abi), 'better_sqlite3.node')
}

/**
 * The `nativeBinding` to hand better-sqlite3: undefined means "its own build" (plain Node);
 * under Electron, the Electron build (`CWB_SQLITE_BINDING` overrides where it lives).
 */
export function sqliteBindingFor(
  runtime: Runtime,
  packageRoot: string,
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  if (!runtime.electron) return undefined
  const path = env.CWB_SQLITE_BINDING || electronBindingPath(packageRoot, runtime.modules)
  if (!exists(path)) {
    throw new Error(
      `The SQLite module for Electron ${runtime.electron} (ABI ${runtime.modules}) is missing at ${path}; start the app with \`npm start\`, which fetches it.`,
    )
  }
  return path
}
