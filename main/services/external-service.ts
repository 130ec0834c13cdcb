// Runs beyond this workstation, for the UI: import a verl or TRL run (and follow a cluster run's log live), export a
// local run to the Co-rewarding verl engine, and move runs between workspaces as bundles. The work is done by
// main/data/external/*, shared with the CLI; this file adds the host's part: default places under
// `<workspace>/exports`, uploads, and the follow timer that re-imports a growing source until the host closes.
import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { bundleRun, unbundleRun } from '../data/external/bundle'
import { importLog } from '../data/external/import-log'
import { exportRunToVerl } from '../data/external/verl-export'
import { isUpload, safeFileName, uploadedName } from '../data/import/uploads'
import { isRewardModeId, rewardModeIds } from '../engine/rewards'
import type { Db } from '../store/database'
import { addEvent } from '../store/events'
import { getRun } from '../store/runs'
import type { Store } from '../store/store'
import { ApiError } from './dispatch'
import type { Handlers } from './dispatch'
import { isWithin } from './paths'

export type ExternalHandlers = Pick<
  Handlers,
  'runs.importLog' | 'runs.follow' | 'runs.following' | 'runs.exportVerl' | 'runs.bundle' | 'runs.unbundle'
>

export interface ExternalServiceContext {
  store: Store
  workspace: string
  /** Aborted when the host closes: following stops. */
  closing: AbortSignal
  /** How often followed sources are re-read. */
  followIntervalMs?: number
}

export const EXPORTS_FOLDER = 'exports'
export const FOLLOW_INTERVAL_MS = 2000

export const exportsDir = (workspace: string): string => join(workspace, EXPORTS_FOLDER)

/**
 * The file a download may serve: a file under the workspace's exports folder, also after resolving links. Answers
 * why not otherwise: `forbidden` for anything outside it, `missing` for what is not (or no longer) a file there.
 */
export function exportedFile(workspace: string, path: string): { file: string } | { refused: 'forbidden' | 'missing' } {
  const folder = resolve(exportsDir(workspace))
  const asked = resolve(path)
  if (!isWithin(folder, asked, true)) return { refused: 'forbidden' }
  let real: string
  try {
    real = realpathSync(asked)
  } catch {
    return { refused: 'missing' }
  }
  if (!isWithin(realpathSync(folder), real, true)) return { refused: 'forbidden' }
  return { file: real }
}

/** A time stamp for file names: 20260501-120000. */
const stamp = (): string =>
  new Date()
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-')

/** The library's errors are worded for the user; only the code tells the UI what kind of failure it is. */
function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  const message = (error as Error).message
  if (/^No run\b/.test(message)) return new ApiError('not_found', message)
  if (/\bis (queued|running|stopping)\b/.test(message)) return new ApiError('conflict', message)
  return new ApiError('invalid_request', message)
}

function requireRun(db: Db, id: number): NonNullable<ReturnType<typeof getRun>> {
  const run = getRun(db, id)
  if (!run) throw new ApiError('not_found', `No run ${id} in this workspace; runs.list lists the runs.`)
  return run
}

export function externalHandlers({
  store,
  workspace,
  closing,
  followIntervalMs = FOLLOW_INTERVAL_MS,
}: ExternalServiceContext): ExternalHandlers {
  const { db } = store
  /** Followed sources per run, with the last error said about each (said once, not every tick). */
  const follows = new Map<number, Map<string, { lastError?: string }>>()
  let timer: NodeJS.Timeout | undefined

  const followed = (run: number): string[] => [...(follows.get(run)?.keys() ?? [])]

  const tick = (): void => {
    for (const [run, paths] of follows) {
      if (!getRun(db, run)) {
        follows.delete(run) // deleted while followed
        continue
      }
      for (const [path, state] of paths) {
        try {
          importLog(db, { path, run, allowEmpty: true })
          state.lastError = undefined
        } catch (error) {
          const message = (error as Error).message
          if (message === state.lastError) continue
          state.lastError = message
          addEvent(db, run, { level: 'warning', kind: 'log', message: `Following ${path}: ${message}`, data: { path } })
        }
      }
    }
    if (follows.size === 0) stopTimer()
  }
  const stopTimer = (): void => {
    clearInterval(timer)
    timer = undefined
  }
  closing.addEventListener('abort', () => {
    stopTimer()
    follows.clear()
  })

  return {
    'runs.importLog': ({ path, format, name, run, mode }) => {
      if (name !== undefined && run !== undefined)
        throw new ApiError('invalid_request', 'runs.importLog: give name (a new run) or run (an existing run), not both.', [
          { path: 'name', message: 'not with run' },
        ])
      if (run !== undefined) requireRun(db, run)
      if (mode !== undefined && !isRewardModeId(mode))
        throw new ApiError(
          'invalid_request',
          `runs.importLog: mode ${JSON.stringify(mode)} is not one of ${rewardModeIds().join(', ')}.`,
          [{ path: 'mode', message: 'not a reward mode' }],
        )
      const upload = isUpload(workspace, path)
      // An upload's file name carries a random prefix: recognise and name it by the name it was uploaded as.
      const shownName = upload ? uploadedName(path) : undefined
      try {
        const result = importLog(db, {
          path,
          format: upload && format === 'auto' && shownName === 'trainer_state.json' ? 'trl' : format,
          name: name ?? (run === undefined && shownName ? shownName.replace(/\.(log|txt|json|jsonl)$/i, '') : undefined),
          run,
          mode,
        })
        return { run: result.run, steps: result.steps, metrics: result.metrics, newSteps: result.newSteps }
      } catch (error) {
        throw asApiError(error)
      }
    },

    'runs.follow': ({ run, path, on }) => {
      requireRun(db, run)
      if (!on) {
        follows.get(run)?.delete(resolve(path))
        if (follows.get(run)?.size === 0) follows.delete(run)
        return { following: followed(run) }
      }
      if (closing.aborted) throw new ApiError('conflict', 'The workbench is closing; follow the log once it is open again.')
      if (isUpload(workspace, path))
        throw new ApiError(
          'invalid_request',
          'path: an uploaded file does not grow; follow a log or dump folder by its path on the host (or run `cwb import-log PATH --follow` there).',
          [{ path: 'path', message: 'an upload cannot be followed' }],
        )
      // Reads it now (adding it to the run's sources when new), so a wrong path fails here rather than every tick.
      // A log that has not printed its first step yet is fine: that is what following waits for.
      try {
        importLog(db, { path, run, allowEmpty: true })
      } catch (error) {
        throw asApiError(error)
      }
      const paths = follows.get(run) ?? new Map<string, { lastError?: string }>()
      paths.set(resolve(path), {})
      follows.set(run, paths)
      if (!timer) {
        timer = setInterval(tick, followIntervalMs)
        timer.unref()
      }
      return { following: followed(run) }
    },

    'runs.following': ({ run }) => {
      requireRun(db, run)
      return { following: followed(run) }
    },

    'runs.exportVerl': ({ run, out, model, base, gpus, nodes, keepHparams }) => {
      requireRun(db, run)
      const folder = out ? resolve(out) : join(exportsDir(workspace), `verl-${run}-${stamp()}`)
      const fresh = !existsSync(folder)
      try {
        return exportRunToVerl(db, String(run), { out: folder, model, base, gpus, nodes, keepHparams })
      } catch (error) {
        if (fresh) rmSync(folder, { recursive: true, force: true }) // a refused export leaves no half-written folder
        throw asApiError(error)
      }
    },

    'runs.bundle': async ({ run, checkpoints }) => {
      const found = requireRun(db, run)
      const dir = exportsDir(workspace)
      const base = safeFileName(found.name)
      const file = [join(dir, `${base}.tgz`), join(dir, `${base}-${stamp()}.tgz`)].find((f) => !existsSync(f)) ?? ''
      if (!file) throw new ApiError('conflict', `A bundle of run ${run} was written this second; try again in a moment.`)
      mkdirSync(dir, { recursive: true })
      try {
        const result = await bundleRun(db, String(run), file, checkpoints)
        return { file: result.file, checkpoints: result.checkpoints }
      } catch (error) {
        rmSync(file, { force: true })
        throw asApiError(error)
      }
    },

    'runs.unbundle': async ({ path }) => {
      try {
        const result = await unbundleRun(db, workspace, resolve(path))
        return { run: result.run, name: result.name }
      } catch (error) {
        throw asApiError(error)
      } finally {
        if (isUpload(workspace, path)) rmSync(path, { force: true })
      }
    },
  }
}
