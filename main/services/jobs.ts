// Background jobs (an import, a paraphrase generation, an agreement preview, a checkpoint diff...): each has an id
// the caller chose, so it can follow `job.progress` events and cancel the job before its call returns.
import type { EventPayload } from '../../preload/contract'
import { ApiError } from './dispatch'

export type JobKind = EventPayload<'job.progress'>['kind']

/** At most this many progress events a second per job (the last one of a stage always goes out). */
const PROGRESS_INTERVAL_MS = 100

export interface Job {
  readonly id: string
  readonly signal: AbortSignal
  /** Reports progress, throttled; a new stage, or done reaching total, is always sent. */
  progress(stage: string, done: number, total: number, message?: string): void
}

export class JobRegistry {
  private readonly running = new Map<string, AbortController>()

  constructor(private readonly emit: (payload: EventPayload<'job.progress'>) => void) {}

  /** Runs `work` as job `id`; an id already running is refused (the caller picks a fresh one per job). */
  async run<T>(id: string, kind: JobKind, work: (job: Job) => Promise<T>): Promise<T> {
    if (this.running.has(id))
      throw new ApiError('conflict', `A job with id "${id}" is already running; give each job its own id.`)
    const controller = new AbortController()
    this.running.set(id, controller)
    let lastStage = ''
    let lastAt = 0
    const job: Job = {
      id,
      signal: controller.signal,
      progress: (stage, done, total, message) => {
        const now = Date.now()
        if (stage === lastStage && done < total && now - lastAt < PROGRESS_INTERVAL_MS) return
        lastStage = stage
        lastAt = now
        this.emit({ job: id, kind, stage, done, total, ...(message !== undefined ? { message } : {}) })
      },
    }
    try {
      return await work(job)
    } finally {
      this.running.delete(id)
    }
  }

  /** Asks a running job to stop; false when no job of that id is running. */
  cancel(id: string): boolean {
    const controller = this.running.get(id)
    if (!controller) return false
    controller.abort(new Error(`job ${id} was cancelled`))
    return true
  }
}
