import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { probeInChildProcess } from '../../backends/probe-process'
import { removeStaleUploads } from '../../data/import/uploads'
import { packageRoot } from '../../package-root'
import { startServer } from '../../serve/server'
import { isLoopbackHost, newToken } from '../../serve/auth'
import { runSlots } from '../../services/scheduler'
import { ALLOW_PATHS_ENV, allowedPathsFromEnv } from '../../services/paths'
import { WorkbenchHost } from '../../services/workbench'
import { demoWanted, openWorkspace } from '../../services/open-workspace'
import { prepareWorkspace, resolveWorkspace, WorkspaceLock } from '../../store/workspace'
import { UsageError } from '../errors'
import { progress } from '../output'
import { integerOption } from '../parse'
import { withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface ServeOptions extends WorkspaceOptions {
  host: string
  port: number
  token?: string
  allowRemote?: boolean
  maxRuns?: number
  allowPath: string[]
}

/** How long a stop signal waits for trainers to finish their step and checkpoint before they are interrupted. */
const STOP_GRACE_MS = 30_000

function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port ${value}: expected 0-65535 (0 = any free port)`)
  return port
}

/** The folders besides the workspace that paths in API requests may name; each must exist. */
function allowedFolders(flags: string[]): string[] {
  const named = [
    ...flags.map((dir) => ({ dir, from: `--allow-path ${dir}` })),
    ...allowedPathsFromEnv().map((dir) => ({ dir, from: `$${ALLOW_PATHS_ENV} (${dir})` })),
  ]
  return named.map(({ dir, from }) => {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${from}: no such folder; name an existing folder`)
    return resolve(dir)
  })
}

export function serveCommand(): Command {
  return withWorkspace(new Command('serve'))
    .description('serve the workbench UI to a browser (for GPU servers reached over SSH)')
    .addOption(new Option('--port <port>', 'port to listen on; 0 picks a free one').default(0).argParser(parsePort))
    .option('--host <host>', 'address to bind; beyond loopback also needs --allow-remote', '127.0.0.1')
    .option('--token <token>', 'access token (default: $CWB_TOKEN, else a random one)')
    .option('--allow-remote', 'allow binding to a non-loopback address')
    .option(
      '--allow-path <dir>',
      `a folder besides the workspace that requests may read and write (repeatable; also $${ALLOW_PATHS_ENV})`,
      (dir: string, previous: string[]) => [...previous, dir],
      [] as string[],
    )
    .addOption(
      new Option('--max-runs <n>', 'runs trained at a time (default: $CWB_MAX_RUNS, else one per core but one)').argParser(
        integerOption('--max-runs', 1),
      ),
    )
    .action(async (options: ServeOptions) => {
      if (!isLoopbackHost(options.host)) {
        if (!options.allowRemote) {
          throw new UsageError(
            `--host ${options.host} is not a loopback address; add --allow-remote to expose the workbench beyond this machine`,
          )
        }
        progress(`warning: serving on ${options.host}: anyone who can reach this address and has the token can use the workbench`)
      }
      const token = options.token || process.env.CWB_TOKEN || newToken()
      if (!/^[\w-]{8,}$/.test(token)) throw new UsageError('--token must be at least 8 characters of A-Z, a-z, 0-9, _ or -')

      // Listen for the stop signals first, so one that arrives while the server is starting still stops it cleanly.
      const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      const maxRuns = runSlots(options.maxRuns)
      const allowedPaths = allowedFolders(options.allowPath)
      const dir = prepareWorkspace(resolveWorkspace(options.workspace)).dir
      const lock = WorkspaceLock.acquire(dir, 'serve')
      // Holding the lock, no other server uploads into this workspace: what is in its uploads folder was left by
      // imports abandoned when a server stopped.
      const stale = removeStaleUploads(dir)
      if (stale > 0) progress(`Removed ${stale} upload${stale > 1 ? 's' : ''} left from imports that were never finished`)
      const { store } = openWorkspace(dir, demoWanted(options.demo))
      const workbench = new WorkbenchHost({
        store,
        workspace: dir,
        host: 'browser',
        probe: (signal) => probeInChildProcess(signal),
        maxRuns,
        log: progress,
        allowedPaths,
      })
      workbench.start()
      progress(`Paths in requests are confined to ${[dir, ...allowedPaths].join(', ')} (add folders with --allow-path DIR)`)
      const server = await startServer({
        host: options.host,
        port: options.port,
        token,
        rendererDir: join(packageRoot(), 'out', 'renderer'),
        workbench,
      }).catch((error: unknown) => {
        workbench.close()
        store.close()
        lock.release()
        throw error
      })
      lock.update({ url: server.baseUrl })
      process.stdout.write(`Workbench at ${server.url}\n`)

      const signal = await stopRequested
      progress(`${signal}: stopping the workbench server`)
      // The trainers owned here stop after their step with a checkpoint; any still busy after the grace period are
      // interrupted (close), and all of them resume later from their last checkpoint.
      const training = workbench.activeRuns().length
      if (training > 0) progress(`Stopping ${training} run(s) after their current step (with a checkpoint)`)
      await workbench.stopRuns(STOP_GRACE_MS)
      await server.close()
      workbench.close()
      store.close()
      lock.release()
    })
}
