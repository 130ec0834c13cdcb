// Messages between a run's owner (the CLI, `cwb serve` or the app) and its trainer process.
import type { TrainerEvent, TrainerJob } from './trainer'

export type OwnerMessage = { type: 'start'; job: TrainerJob } | { type: 'stop' }

export type TrainerMessage =
  | TrainerEvent
  | { type: 'done'; status: 'finished' | 'stopped'; steps: number; final: Record<string, number> }
  /** `step`: the step the error is about, when it is about one (a numerical fault). */
  | { type: 'error'; message: string; stack?: string; step?: number }
