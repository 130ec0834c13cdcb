// Test-only fault injection. The trainer entry reads CWB_FAULT (nothing else does) so the reliability tests can make
// a run fail, or die, at an exact point: a NaN or infinite loss, NaN weights, or a SIGKILL of the trainer or of its
// owner during a given phase of a given step. Users never set it; an unknown value is refused so a typo cannot pass.
//
//   nan-loss@STEP | inf-loss@STEP | nan-weights@STEP
//   kill-trainer@STEP:PHASE[+MS] | kill-owner@STEP:PHASE[+MS]
//
// PHASE is rollout, scoring, update, validation, checkpoint (the write of the step's checkpoint) or commit (the step's
// metrics on their way into the owner's store); the kill lands MS milliseconds (default 0) after the phase starts.
import { Worker } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import type { TrainableModel } from './policy'
import type { TrainingRow } from './grpo'

export const KILL_PHASES = ['rollout', 'scoring', 'update', 'validation', 'checkpoint', 'commit'] as const
export type KillPhase = (typeof KILL_PHASES)[number]

export type Fault =
  | { kind: 'nan-loss' | 'inf-loss' | 'nan-weights'; step: number }
  | { kind: 'kill-trainer' | 'kill-owner'; step: number; phase: KillPhase; delayMs: number }

const NUMERIC = /^(nan-loss|inf-loss|nan-weights)@(\d+)$/
const KILL = /^(kill-trainer|kill-owner)@(\d+):([a-z]+)(?:\+(\d+))?$/

export function parseFault(text: string | undefined): Fault | undefined {
  if (text === undefined || text.trim() === '') return undefined
  const value = text.trim()
  const numeric = NUMERIC.exec(value)
  if (numeric) return { kind: numeric[1] as 'nan-loss', step: Number(numeric[2]) }
  const kill = KILL.exec(value)
  if (kill && (KILL_PHASES as readonly string[]).includes(kill[3]!)) {
    return { kind: kill[1] as 'kill-owner', step: Number(kill[2]), phase: kill[3] as KillPhase, delayMs: Number(kill[4] ?? 0) }
  }
  throw new Error(
    `CWB_FAULT=${value}: not a fault; expected nan-loss@STEP, inf-loss@STEP, nan-weights@STEP or ` +
      `kill-trainer|kill-owner@STEP:${KILL_PHASES.join('|')}[+MS] (a test-only setting: unset it to train normally)`,
  )
}

/** A boundary between two phases of a training step, with the state a test may break there. */
export type FaultPoint =
  { at: 'update'; step: number; rows: TrainingRow[] } | { at: 'updated'; step: number; policy: TrainableModel }

/** The trainer's one fault hook (TrainerOptions.faults): it calls it at each FaultPoint of every step. */
export type FaultHook = (point: FaultPoint) => void

/**
 * The numerical faults as a hook: a NaN or infinite loss through the advantages handed to the update (-Infinity makes
 * every token's dual-clipped loss +Infinity), or NaN in the first weight after it. `log` says what it broke.
 */
export function numericalFaults(fault: Fault | undefined, log: (message: string) => void): FaultHook | undefined {
  if (fault?.kind !== 'nan-loss' && fault?.kind !== 'inf-loss' && fault?.kind !== 'nan-weights') return undefined
  return (point) => {
    if (point.step !== fault.step) return
    if (point.at === 'update' && fault.kind !== 'nan-weights') {
      for (const row of point.rows) row.advantage = fault.kind === 'nan-loss' ? NaN : -Infinity
    }
    if (point.at === 'updated' && fault.kind === 'nan-weights') {
      const [name, variable] = point.policy.weights.entries().next().value!
      variable.assign(tf.tidy(() => tf.fill(variable.shape, NaN)))
      log(`CWB_FAULT: set ${name} to NaN after the update of step ${point.step}`)
    }
  }
}

/**
 * SIGKILLs `pid` `delayMs` after `fire()`, from a worker thread: the trainer's tensor work is synchronous, so a timer
 * on the main thread could only fire between phases, never inside one.
 */
export class Killer {
  private readonly worker: Worker

  constructor() {
    this.worker = new Worker(
      `const { parentPort } = require('node:worker_threads')
       parentPort.on('message', ({ pid, delayMs }) => setTimeout(() => process.kill(pid, 'SIGKILL'), delayMs))`,
      { eval: true },
    )
    this.worker.unref()
  }

  fire(pid: number, delayMs: number): void {
    this.worker.postMessage({ pid, delayMs })
  }
}
