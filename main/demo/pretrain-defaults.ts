// The pre-training settings, kept apart from the training code so the CLI can show them without loading tfjs.
import { DEMO_ARCHITECTURE } from './base-model'
import type { DemoArchitecture } from './base-model'

export interface PretrainOptions {
  out: string
  seed: number
  steps: number
  batchSize: number
  learningRate: number
  warmupFraction: number
  /** Validation questions used for the periodic greedy check and the final evaluation. */
  evalQuestions: number
  evalEvery: number
  /** The share of pre-training solutions that give the answer without working (0 to 1). */
  directShare: number
  /** The step from which direct answers enter the mix (worked solutions only before it). */
  directFrom: number
  architecture: DemoArchitecture
  log: (message: string) => void
  shouldStop?: () => boolean
}

export const PRETRAIN_DEFAULTS: Omit<PretrainOptions, 'out' | 'log'> = {
  seed: 1,
  steps: 5000,
  batchSize: 32,
  learningRate: 1e-3,
  warmupFraction: 0.05,
  evalQuestions: 200,
  evalEvery: 1000,
  directShare: 0.5,
  directFrom: 2500,
  architecture: DEMO_ARCHITECTURE,
}
