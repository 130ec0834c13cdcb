// `npm start`: make sure Electron and its SQLite module are there, then open the desktop app.
// Where Electron cannot be had, say so in one line and point to browser mode.
import { spawn } from 'node:child_process'
import { electronPackage, ensureElectronBinary, ensureElectronSqlite, LaunchError } from './launch/electron'
import { packageRoot } from './package-root'

const log = (message: string): void => void process.stderr.write(`${message}\n`)

try {
  const root = packageRoot()
  const pkg = electronPackage()
  const binary = ensureElectronBinary(pkg, log)
  const binding = ensureElectronSqlite(pkg, root, log)
  const child = spawn(binary, [root, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, CWB_SQLITE_BINDING: binding, ELECTRON_RUN_AS_NODE: undefined },
  })
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
} catch (error) {
  const reason = error instanceof LaunchError ? error.message : `Unexpected failure: ${(error as Error).message.split('\n')[0]}`
  log(`Cannot open the desktop app: ${reason} Use the workbench in a browser instead: npx cwb serve`)
  process.exit(1)
}
