// The run queue of a workbench host (the app or `cwb serve`): starts queued runs, oldest first, while fewer than
// `slots` trainers run on this machine (those of `cwb train` count too: they use the same cores), and owns the
// trainers it starts, so it can stop, kill or interrupt them.
import { availableParallelism, hostname } from 'node:os'
import type { Db } from '../store/database'
import { activeRuns, queuedRuns, requestStop } from '../store/runs'
import { startRun } from './run-owner'
import type { OwnedTrainer, RunOutcome } from './run-owner'
import type { StartTrainer } from './trainer-process'

/** Runs at a time: the option (`--max-runs`), else CWB_MAX_RUNS, else one per core but one (at least one). */
export function runSlots(option?: number, env: NodeJS.ProcessEnv = process.env, cores: number = availableParallelism()): number {
  if (option !== undefined) {
    if (!Number.isSafeInteger(option) || option < 1)
      throw new Error(`maxRuns must be a whole number of at least 1, got ${option}`)
    return option
  }
  const fromEnv = env.CWB_MAX_RUNS?.trim()
  if (fromEnv) {
    const value = Number(fromEnv)
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(
        `CWB_MAX_RUNS=${fromEnv}: expected a whole number of at least 1 (runs trained at a time); unset it for the default`,
      )
    }
    return value
  }
  return Math.max(1, cores - 1)
}

export interface SchedulerOptions {
  db: Db
  workspace: string
  slots: number
  log?: (message: string) => void
  /** How trainers start (the app's are Electron utility processes); Node children by default. */
  startTrainer?: StartTrainer
}

export class RunScheduler {
  private readonly owned = new Map<number, OwnedTrainer>()
  /** Set while the host stops its trainers to quit: nothing new starts. */
  private holding = false
  private closed = false

  constructor(private readonly options: SchedulerOptions) {}

  get slots(): number {
    return this.options.slots
  }

  owns(run: number): boolean {
    return this.owned.has(run)
  }

  ownedRuns(): number[] {
    return [...this.owned.keys()]
  }

  /** Starts queued runs, oldest first, while slots are free; returns the runs it started. */
  fill(): number[] {
    if (this.closed || this.holding) return []
    const { db, workspace, log, startTrainer } = this.options
    const busy = new Set([...this.owned.keys(), ...activeRuns(db, hostname()).map((run) => run.id)])
    let free = this.options.slots - busy.size
    const started: number[] = []
    for (const run of free > 0 ? queuedRuns(db) : []) {
      if (free <= 0) break
      let trainer: OwnedTrainer
      try {
        trainer = startRun(run, { db, workspace, startTrainer, onLog: log && ((message) => log(`run ${run}: ${message}`)) })
      } catch (error) {
        log?.(`run ${run} did not start: ${(error as Error).message}`)
        continue
      }
      this.owned.set(run, trainer)
      started.push(run)
      free -= 1
      void trainer.outcome.then((outcome: RunOutcome) => {
        this.owned.delete(run)
        if (outcome.status === 'failed') log?.(`run ${run} failed: ${outcome.error}`)
        this.fill()
      })
    }
    return started
  }

  /** Ends an owned trainer at once (the run fails and can be resumed) and waits for it; false when not owned here. */
  async kill(run: number): Promise<boolean> {
    const trainer = this.owned.get(run)
    if (!trainer) return false
    trainer.kill()
    await trainer.outcome
    return true
  }

  /**
   * Asks every owned trainer to stop after its current step (each saves a checkpoint) and waits for them, at most
   * `timeoutMs`; queued runs stay queued for the next start. Returns the runs still training after the wait.
   */
  async stopAll(timeoutMs: number): Promise<number[]> {
    this.holding = true
    const trainers = [...this.owned.values()]
    for (const trainer of trainers) {
      try {
        requestStop(this.options.db, trainer.run)
      } catch {
        // Already ending: its outcome settles on its own.
      }
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(trainers.map((t) => t.outcome)),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ])
    clearTimeout(timer)
    return this.ownedRuns()
  }

  /** Ends the trainers still owned (their runs become interrupted, resumable) and starts nothing more. */
  close(reason: string): void {
    this.closed = true
    for (const trainer of this.owned.values()) trainer.abandon(reason)
    this.owned.clear()
  }
}
