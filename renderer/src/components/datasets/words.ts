// How the Datasets views say things: check results, record flags and statuses in the reviewer's words.
import { CHECK_NAMES, PARAPHRASE_ORIGINS } from '../../../../preload/constants'
import type { Paraphrase } from '../../../../preload/contract'

export type CheckName = (typeof CHECK_NAMES)[number]

export const CHECK_LABELS: Record<CheckName, string> = {
  numbers: 'numbers missing',
  expressions: 'expressions missing',
  answer_leak: 'answer leaked',
  too_similar: 'too similar',
  length_ratio: 'length ratio',
}

export const ORIGIN_LABELS: Record<(typeof PARAPHRASE_ORIGINS)[number], string> = {
  imported: 'imported',
  template: 'template',
  llm: 'LLM',
  manual: 'manual',
}

const FLAG_LABELS: Record<string, string> = {
  duplicate: 'duplicate question',
  'no-answer': 'no answer',
  'pair-answer-mismatch': 'original and rewrite answers differ',
  'majority-disagrees': 'model answers disagree',
}

export const flagLabel = (flag: string): string => FLAG_LABELS[flag] ?? flag.replace(/[-_]/g, ' ')

export interface CheckLine {
  name: CheckName
  failed: boolean
  text: string
}

const detail = (checks: Record<string, unknown>, name: string): Record<string, unknown> => {
  const value = checks[name]
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : {}
}
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [])
const number = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)
const round = (value: number): string => String(Math.round(value * 100) / 100)
const quoted = (items: string[], noun: string): string =>
  `${noun}${items.length > 1 ? 's' : ''} ${items.map((item) => (noun === 'number' ? item : `“${item}”`)).join(', ')}`

/** Every check of a paraphrase as one line in words, failed ones first. */
export function checkLines(paraphrase: Pick<Paraphrase, 'failed' | 'checks'>): CheckLine[] {
  const failed = new Set(paraphrase.failed)
  const { checks } = paraphrase
  const lines = CHECK_NAMES.map((name): CheckLine => {
    const isFailed = failed.has(name)
    const d = detail(checks, name)
    switch (name) {
      case 'numbers': {
        const missing = strings(d.missing)
        return { name, failed: isFailed, text: missing.length ? `${quoted(missing, 'number')} missing` : 'every number kept' }
      }
      case 'expressions': {
        const missing = strings(d.missing)
        return {
          name,
          failed: isFailed,
          text: missing.length ? `${quoted(missing, 'expression')} missing` : 'every math expression kept',
        }
      }
      case 'answer_leak': {
        const leaked = typeof d.leaked === 'string' ? d.leaked : null
        return { name, failed: isFailed, text: leaked ? `answer ${leaked} appears in the paraphrase` : 'answer not given away' }
      }
      case 'too_similar': {
        const distance = number(d.distance)
        const shown = distance === undefined ? '' : ` (distance ${round(distance)})`
        return { name, failed: isFailed, text: isFailed ? `too similar${shown}` : `reworded${shown}` }
      }
      case 'length_ratio': {
        const ratio = number(d.ratio)
        const shown = ratio === undefined ? '' : ` ${round(ratio)}`
        return { name, failed: isFailed, text: isFailed ? `length ratio${shown} out of range` : `length ratio${shown}` }
      }
    }
  })
  return [...lines.filter((line) => line.failed), ...lines.filter((line) => !line.failed)]
}

export const plural = (count: number, noun: string, nouns = `${noun}s`): string =>
  `${count.toLocaleString('en')} ${count === 1 ? noun : nouns}`

/** A job id the caller picks so it can follow and cancel the job (randomUUID needs a secure context). */
export const newJobId = (kind: string): string => `${kind}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/** An API error as the host worded it, with the fields an invalid request got wrong. */
export function describeError(err: unknown): string {
  const body = (err as { body?: { message?: string; issues?: { path: string; message: string }[] } }).body
  const issues = body?.issues?.map((issue) => `${issue.path ? `${issue.path}: ` : ''}${issue.message}`) ?? []
  const message = body?.message ?? (err as Error).message ?? String(err)
  return issues.length ? `${message} (${issues.join('; ')})` : message
}

/** A cell value of a preview row, short enough for a table cell. */
export function cellText(value: unknown, max = 120): string {
  const text = value === null || value === undefined ? '∅' : typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
