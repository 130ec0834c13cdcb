// How the Checkpoints view names tags, checkpoints and small weight changes.
import type { CHECKPOINT_AUTO_TAGS } from '../../../../preload/contract'

type AutoTag = (typeof CHECKPOINT_AUTO_TAGS)[number]

/** The contract's CHECKPOINT_AUTO_TAGS (a value import of the contract would bundle zod into the renderer). */
export const AUTO_TAGS: Record<AutoTag, { label: string; hint: string }> = {
  'best-gt': {
    label: 'best GT',
    hint: 'Highest held-out accuracy against the ground truth among the validated steps and the base model (a tie tags none)',
  },
  'best-self': {
    label: 'best self-reward',
    hint: 'Highest training score (critic/score/mean) among the validated steps: what the policy was rewarded for (a tie tags none)',
  },
  latest: { label: 'latest', hint: 'The highest step saved' },
}

export const isAutoTag = (tag: string): tag is AutoTag => tag in AUTO_TAGS

/**
 * A weight statistic: changes after a few RL steps are tiny (1e-6), so small values keep three significant digits
 * in exponent form instead of rounding to 0.
 */
export function formatWeight(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–'
  if (!Number.isFinite(value)) return String(value)
  if (value === 0) return '0'
  const abs = Math.abs(value)
  if (abs < 1e-3 || abs >= 1e5) return value.toExponential(2)
  return String(+value.toPrecision(4))
}

/** 1 − cosine similarity: how far the direction moved (the cosine itself reads 1.0000000 for a small step). */
export const oneMinusCosine = (cosine: number | null): number | null => (cosine === null ? null : Math.max(0, 1 - cosine))

export const shape = (dims: readonly number[]): string => (dims.length ? dims.join('×') : 'scalar')

/** A checkpoint of a run as the API accepts it in text: RUN:STEP. */
export const runStep = (run: number, step: number): string => `${run}:${step}`
