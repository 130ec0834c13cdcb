// How the Datasets views say things: check results, record flags and statuses in the reviewer's words.
import { CHECK_NAMES, FINDING_CHECKS, PARAPHRASE_ORIGINS, SEVERITIES } from '../../../../preload/constants'
import type { Paraphrase } from '../../../../preload/contract'

/** Any check a finding names: a rule check or a model check (judge, agreement). */
export type CheckName = (typeof FINDING_CHECKS)[number]
type RuleCheck = (typeof CHECK_NAMES)[number]
export type Severity = (typeof SEVERITIES)[number]

export const CHECK_LABELS: Record<CheckName, string> = {
  numbers: 'numbers missing',
  expressions: 'expressions restated',
  answer_leak: 'answer leaked',
  too_similar: 'too similar',
  length_ratio: 'length ratio',
  new_numbers: 'new numbers',
  negation: 'negated or reversed',
  judge: 'model judge',
  agreement: 'model agreement',
}

/** A severity in the reviewer's words, with what it means. */
export const SEVERITY_LABELS: Record<Severity, { words: string; plural: string; meaning: string; icon: string }> = {
  error: { words: 'error', plural: 'errors', meaning: 'likely changes the answer', icon: '✖' },
  warning: { words: 'warning', plural: 'warnings', meaning: 'may change the answer', icon: '⚠' },
  note: { words: 'note', plural: 'notes', meaning: 'about the rewrite’s form', icon: 'ℹ' },
}

/** The most severe of some findings' severities (undefined for none). */
export const worstSeverity = (findings: readonly { severity: Severity }[]): Severity | undefined =>
  SEVERITIES.find((severity) => findings.some((f) => f.severity === severity))

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
  /** The finding's severity; undefined where the check found nothing. */
  severity?: Severity
  text: string
}

const number = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)
const round = (value: number): string => String(Math.round(value * 100) / 100)

/** What a rule check that found nothing says (a model check says nothing until it is run). */
const PASSED: Record<RuleCheck, (checks: Record<string, unknown>) => string> = {
  numbers: () => 'every number kept',
  expressions: () => 'every math expression kept',
  answer_leak: () => 'answer not given away',
  too_similar: (checks) => {
    const distance = number((checks.too_similar as { distance?: unknown } | undefined)?.distance)
    return `reworded${distance === undefined ? '' : ` (distance ${round(distance)})`}`
  },
  length_ratio: (checks) => {
    const ratio = number((checks.length_ratio as { ratio?: unknown } | undefined)?.ratio)
    return `length ratio${ratio === undefined ? '' : ` ${round(ratio)}`}`
  },
  new_numbers: () => 'no new numbers',
  negation: () => 'nothing negated or reversed',
}

/** Every check of a paraphrase as one line: its findings (errors first) with their messages, then the passed checks. */
export function checkLines(paraphrase: Pick<Paraphrase, 'findings' | 'checks'>): CheckLine[] {
  const found = paraphrase.findings.map((f): CheckLine => ({ name: f.check, severity: f.severity, text: f.message }))
  const passed = CHECK_NAMES.filter((name) => !paraphrase.findings.some((f) => f.check === name)).map((name): CheckLine => ({
    name,
    text: PASSED[name](paraphrase.checks),
  }))
  return [...found, ...passed]
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
