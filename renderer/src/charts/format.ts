// How numbers, axes and metric keys read in charts and tables.
import { X_AXES } from '../../../preload/constants'
import type { XAxis } from '../../../preload/contract'

/** A metric value with about four significant digits; large ones compact (12.3k). */
export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  const abs = Math.abs(value)
  if (abs >= 1e4) return compact(value)
  if (abs === 0) return '0'
  if (abs >= 1e3) return value.toFixed(0)
  if (abs >= 1e-3) return String(+value.toPrecision(4))
  return value.toExponential(2)
}

/** A 0-1 share as a percentage with one decimal. */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  return `${(value * 100).toFixed(1)}%`
}

function compact(value: number): string {
  const abs = Math.abs(value)
  if (abs >= 1e9) return `${+(value / 1e9).toFixed(2)}G`
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(2)}M`
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(1)}k`
  return String(Math.round(value))
}

/** Seconds as 45s, 12m 05s or 3h 20m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

export const X_LABELS: Record<XAxis, string> = { step: 'step', tokens: 'tokens', wall: 'wall time' }
export { X_AXES }

/** A position on the x axis as the user reads it: step 40, 1.2M tokens, 12m 05s. */
export function formatX(x: XAxis, value: number): string {
  if (x === 'tokens') return compact(value)
  if (x === 'wall') return formatDuration(value)
  return String(Math.round(value))
}

const HELD_OUT = /^val-core\/(.+)\/reward\/mean@1$/

const TITLES: Record<string, string> = {
  'critic/score/mean': 'Training score',
  'coreward/pseudo_acc': 'Pseudo-label accuracy',
  'response_length/mean': 'Response length',
  'actor/entropy': 'Entropy',
  'actor/kl_loss': 'KL loss',
}

/** The panels Compare opens with, in this order, when the runs logged them. */
export function defaultKeys(keys: readonly string[]): string[] {
  const heldOut = keys.filter((k) => HELD_OUT.test(k)).sort()
  return [...heldOut, ...Object.keys(TITLES).filter((k) => keys.includes(k))]
}

/** A run page's charts, in this order, where the run logged them: held-out accuracy, training reward, pseudo-label
 * accuracy (modes that vote a label), response length and KL. */
export function runPageKeys(keys: readonly string[]): string[] {
  const heldOut = keys.filter((k) => HELD_OUT.test(k)).sort()
  return [...heldOut, ...RUN_PAGE_KEYS.filter((k) => keys.includes(k))]
}
const RUN_PAGE_KEYS = ['critic/score/mean', 'coreward/pseudo_acc', 'response_length/mean', 'actor/kl_loss']

/** A panel's title in the user's words (the raw key shows beside it). */
export function keyTitle(key: string): string {
  const heldOut = HELD_OUT.exec(key)
  if (heldOut) return 'Held-out accuracy'
  return TITLES[key] ?? key
}

/** Accuracy-like keys (and the share of tied votes) read as percentages. */
export function isShare(key: string): boolean {
  return HELD_OUT.test(key) || /(^|\/)(pseudo_acc|pseudo_acc_equiv|pseudo_policy_acc|reward_acc|pass_acc|tie_rate)$/.test(key)
}
