// What `npm start` needs before the desktop app can run: Electron's binary (downloaded by the electron
// package on first use) and a better-sqlite3 build for Electron's ABI, kept apart from the Node build.
import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { electronBindingDir, electronBindingPath } from '../store/native-binding'

export class LaunchError extends Error {}

const nodeRequire = createRequire(import.meta.url)

export interface ElectronPackage {
  dir: string
  version: string
  abi: string
}

export function electronPackage(): ElectronPackage {
  const dir = dirname(nodeRequire.resolve('electron/package.json'))
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
  return { dir, version, abi: readFileSync(join(dir, 'abi_version'), 'utf8').trim() }
}

function platformExecutable(): string {
  if (process.platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron'
  return process.platform === 'win32' ? 'electron.exe' : 'electron'
}

/** Where the electron package keeps (or would keep) its binary; ELECTRON_OVERRIDE_DIST_PATH wins, as in electron itself. */
export function electronBinaryPath(pkg: ElectronPackage, env: NodeJS.ProcessEnv = process.env): string {
  const pathFile = join(pkg.dir, 'path.txt')
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8') : platformExecutable()
  return env.ELECTRON_OVERRIDE_DIST_PATH ? join(env.ELECTRON_OVERRIDE_DIST_PATH, relative) : join(pkg.dir, 'dist', relative)
}

/** The most telling line of a failed download's output (a network error code beats a generic "fetch failed"). */
export function causeOf(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at '))
  const network = lines.find((line) => /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ECONNRESET|certificate|40[34]/.test(line))
  return network ?? lines.find((line) => /error/i.test(line)) ?? lines.at(-1) ?? 'no output'
}

export function ensureElectronBinary(pkg: ElectronPackage, log: (message: string) => void): string {
  const binary = electronBinaryPath(pkg)
  if (existsSync(binary)) return binary
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    throw new LaunchError(`ELECTRON_OVERRIDE_DIST_PATH is set but ${binary} does not exist.`)
  }
  log(`Downloading Electron ${pkg.version} (first start only)...`)
  const result = spawnSync(process.execPath, [join(pkg.dir, 'install.js')], { encoding: 'utf8', timeout: 600_000 })
  if (result.status !== 0 || !existsSync(electronBinaryPath(pkg))) {
    throw new LaunchError(`Electron's binary could not be downloaded (${causeOf(`${result.stderr}\n${result.stdout}`)}).`)
  }
  return electronBinaryPath(pkg)
}

/** Fetches better-sqlite3's prebuilt binary for Electron's ABI (or compiles it against Electron's headers). */
export function ensureElectronSqlite(pkg: ElectronPackage, root: string, log: (message: string) => void): string {
  const target = electronBindingPath(root, pkg.abi)
  if (existsSync(target)) return target
  const moduleDir = dirname(nodeRequire.resolve('better-sqlite3/package.json'))
  const work = mkdtempSync(join(tmpdir(), 'cwb-sqlite-electron-'))
  try {
    log(`Fetching the SQLite module for Electron ${pkg.version} (ABI ${pkg.abi}, first start only)...`)
    writeFileSync(join(work, 'package.json'), readFileSync(join(moduleDir, 'package.json')))
    const prebuild = spawnSync(
      process.execPath,
      [
        nodeRequire.resolve('prebuild-install/bin.js'),
        '--runtime',
        'electron',
        '--target',
        pkg.version,
        '--arch',
        process.arch,
        '--platform',
        process.platform,
      ],
      { cwd: work, encoding: 'utf8', timeout: 300_000 },
    )
    let built = join(work, 'build', 'Release', 'better_sqlite3.node')
    let output = `${prebuild.stderr}\n${prebuild.stdout}`
    if (prebuild.status !== 0 || !existsSync(built)) {
      log('No prebuilt module; compiling it against Electron headers...')
      const source = join(work, 'source')
      cpSync(moduleDir, source, { recursive: true, filter: (path) => !path.startsWith(join(moduleDir, 'build')) })
      // npm tells the scripts it runs where its own node-gyp is.
      const nodeGyp = process.env.npm_config_node_gyp
      if (!nodeGyp) {
        throw new LaunchError(
          `No prebuilt SQLite module for Electron ${pkg.version} (${causeOf(output)}), and no node-gyp to build one: run \`npm start\`.`,
        )
      }
      const gyp = spawnSync(
        process.execPath,
        [nodeGyp, 'rebuild', '--release', `--target=${pkg.version}`, '--dist-url=https://electronjs.org/headers'],
        { cwd: source, encoding: 'utf8', timeout: 900_000 },
      )
      built = join(source, 'build', 'Release', 'better_sqlite3.node')
      output = `${gyp.stderr}\n${gyp.stdout}`
      if (gyp.status !== 0 || !existsSync(built)) {
        throw new LaunchError(`The SQLite module for Electron ${pkg.version} could not be fetched or built (${causeOf(output)}).`)
      }
    }
    mkdirSync(electronBindingDir(root, pkg.abi), { recursive: true })
    copyFileSync(built, target)
    return target
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
