// The model checks' results, stored per paraphrase beside the rule checks': `checks.models.<check>` holds what the
// model said (with a key of the text it was asked about) and its finding, which joins the rule findings in
// `checks.findings`. A rule re-check (`cwb checks`, an import, an edit's check) replaces only the rule findings; a
// model result about another text (the paraphrase was edited since) is dropped with its finding.
import { createHash } from 'node:crypto'
import type { Finding } from '../../../preload/contract'
import { MODEL_CHECK_NAMES, SEVERITIES } from '../../../preload/constants'
import type { Db } from '../../store/database'
import { getParaphrase, setParaphraseChecks } from '../../store/records'

export type ModelCheck = (typeof MODEL_CHECK_NAMES)[number]

export interface ModelResult {
  /** textKey of the paraphrase text the model was asked about. */
  text: string
  finding: Finding
  [detail: string]: unknown
}

export type ModelResults = Partial<Record<ModelCheck, ModelResult>>

/** A short key of a text: a stored result holds for the paraphrase while its text has this key. */
export const textKey = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16)

const isModelCheck = (check: string): check is ModelCheck => (MODEL_CHECK_NAMES as readonly string[]).includes(check)

const isResult = (value: unknown): value is ModelResult =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as ModelResult).text === 'string' &&
  typeof (value as ModelResult).finding === 'object' &&
  (value as ModelResult).finding !== null

/** The model results stored with a paraphrase's checks that are about `text` (the others no longer hold). */
export function modelResultsOf(checks: Record<string, unknown>, text: string): ModelResults {
  const stored = checks.models
  if (stored === null || typeof stored !== 'object') return {}
  const key = textKey(text)
  const results: ModelResults = {}
  for (const [check, result] of Object.entries(stored as Record<string, unknown>)) {
    if (isModelCheck(check) && isResult(result) && result.text === key && result.finding.check === check) results[check] = result
  }
  return results
}

const bySeverity = (a: { severity: string }, b: { severity: string }): number =>
  SEVERITIES.indexOf(a.severity as Finding['severity']) - SEVERITIES.indexOf(b.severity as Finding['severity'])

/**
 * A paraphrase's checks with the model findings made again from its model results about `text`: the findings that
 * are not a model check's are kept, model results about another text are dropped, and the findings sorted errors first.
 */
export function withModelFindings<T extends object>(checks: T, text: string): T {
  const record = checks as Record<string, unknown>
  const models = modelResultsOf(record, text)
  const others = Array.isArray(record.findings)
    ? (record.findings as { check?: unknown }[]).filter((f) => !isModelCheck(String(f?.check)))
    : undefined
  const rest = { ...record }
  delete rest.models
  if (others === undefined && Object.keys(models).length === 0) return rest as T
  const findings = [...(others ?? []), ...Object.values(models).map((m) => m.finding)] as Finding[]
  return {
    ...rest,
    findings: findings.sort(bySeverity),
    ...(Object.keys(models).length > 0 ? { models } : {}),
  } as T
}

/**
 * Stores a model check's result for a paraphrase, if the paraphrase still has the text the model was asked about
 * (false otherwise: it was edited or removed meanwhile, and the result is dropped).
 */
export function storeModelResult(
  db: Db,
  paraphrase: number,
  askedText: string,
  check: ModelCheck,
  result: Omit<ModelResult, 'text'>,
): boolean {
  const current = getParaphrase(db, paraphrase)
  if (!current || current.text !== askedText) return false
  const stored = current.checks.models
  const models = stored !== null && typeof stored === 'object' ? (stored as Record<string, unknown>) : {}
  const checks = { ...current.checks, models: { ...models, [check]: { ...result, text: textKey(askedText) } } }
  setParaphraseChecks(db, [{ id: paraphrase, checks: withModelFindings(checks, askedText) }])
  return true
}

/** The stored result of `check` for a paraphrase about its current text, if any. */
export function storedModelResult(checks: Record<string, unknown>, text: string, check: ModelCheck): ModelResult | undefined {
  return modelResultsOf(checks, text)[check]
}
