// The model judge: an OpenAI-compatible endpoint reads each (original, paraphrase) pair and says whether both
// questions have the same final answer, with one line of reason. The verdict is stored per paraphrase as a finding
// of check `judge` (different: error, unsure: warning, same: note) as each answer comes, so a stopped job keeps
// what it stored and a rerun skips the pairs the same model judged already. Requests go through the endpoint client
// of paraphrase generation (concurrency, retries with backoff, time limits); the API key lives only in memory.
import type { RecordFilter } from '../../../preload/contract'
import type { Db } from '../../store/database'
import { findDataset } from '../../store/datasets'
import { filteredPairs, recordName } from '../../store/records'
import type { FilteredPair } from '../../store/records'
import { storedModelResult, storeModelResult } from './model-checks'
import { chatAll, chatUrl } from './openai'
import type { EndpointOptions } from './openai'

export const VERDICTS = ['same', 'different', 'unsure'] as const
export type Verdict = (typeof VERDICTS)[number]

export const JUDGE_PROMPT = `You check rewrites of math problems. A rewrite must ask for exactly the same final answer as the original.

Original problem:
{original}

Rewritten problem:
{paraphrase}
{answer}
Work it out if you need to, then end your reply with one line in exactly this form:
VERDICT: reason
where VERDICT is SAME (both have the same final answer), DIFFERENT (the final answers differ, or the rewrite cannot be solved the same way) or UNSURE, and the reason is one short sentence naming what changed or why they match.
For example:
DIFFERENT: the rewrite has 12 apples where the original has 21.`

/** The judge's prompt for a pair (the original's answer, when known, said after the problems). */
export function judgePrompt(original: string, paraphrase: string, answer: string | null): string {
  const values: Record<string, string> = {
    original,
    paraphrase,
    answer: answer?.trim() ? `\nThe original problem's answer is: ${answer.trim()}\n` : '',
  }
  return JUDGE_PROMPT.replace(/\{(original|paraphrase|answer)\}/g, (_, key: string) => values[key]!)
}

/** Longest reason kept, and how much of an unparseable reply is kept as its reason. */
const REASON_CHARS = 300

export interface ParsedVerdict {
  verdict: Verdict
  reason: string
  /** False when the reply had no verdict line (recorded as unsure with the reply, trimmed, as the reason). */
  parsed: boolean
}

const oneLine = (text: string): string => {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > REASON_CHARS ? `${line.slice(0, REASON_CHARS - 1)}…` : line
}

const VERDICT_LINE =
  /^[\s>*_#`"'-]*(?:(?:final\s+)?(?:verdict|answer)\s*[:=-]\s*)?[*_`"']*(SAME|DIFFERENT|UNSURE)\b[*_`"']*\s*[:.,;\u2013\u2014-]?\s*(.*)$/i

/**
 * A judge's reply read: a JSON object {"verdict", "reason"}, or a line starting with SAME, DIFFERENT or UNSURE (the
 * last such line, so a model that thinks aloud first is read by its conclusion; a <think> block is skipped). A reply
 * with neither is unsure, its text trimmed as the reason.
 */
export function parseVerdict(content: string): ParsedVerdict {
  const text = content.replace(/<think>[\s\S]*?(<\/think>|$)/gi, '').trim()
  const json = text.match(/\{[\s\S]*\}/)
  if (json) {
    try {
      const value = JSON.parse(json[0]) as { verdict?: unknown; reason?: unknown }
      const verdict = typeof value.verdict === 'string' ? value.verdict.trim().toLowerCase() : ''
      if ((VERDICTS as readonly string[]).includes(verdict))
        return {
          verdict: verdict as Verdict,
          reason: oneLine(typeof value.reason === 'string' ? value.reason : ''),
          parsed: true,
        }
    } catch {
      // Not JSON after all: read the lines.
    }
  }
  const lines = text.split(/\r?\n/)
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = lines[i]!.match(VERDICT_LINE)
    if (!match) continue
    // A reason on the next line ("SAME\nBoth ask for ...") belongs to the verdict.
    const reason = match[2]!.replace(/[*_`]+$/, '').trim() || (lines[i + 1] ?? '').trim()
    return { verdict: match[1]!.toLowerCase() as Verdict, reason: oneLine(reason), parsed: true }
  }
  return { verdict: 'unsure', reason: oneLine(text) || 'the reply was empty', parsed: false }
}

const SEVERITY = { different: 'error', unsure: 'warning', same: 'note' } as const

/** The judge's finding, in the reviewer's words, with the model's name and its reason. */
export function judgeFinding(
  model: string,
  { verdict, reason, parsed }: ParsedVerdict,
): { check: 'judge'; severity: (typeof SEVERITY)[Verdict]; message: string } {
  const said = parsed
    ? { same: 'judges the final answers the same', different: 'judges the final answers different', unsure: 'is unsure' }[verdict]
    : 'gave no verdict line (counted as unsure); it said'
  return { check: 'judge', severity: SEVERITY[verdict], message: `${model} ${said}: ${reason || '(no reason given)'}` }
}

export interface JudgeOptions {
  datasetId: number
  filter: RecordFilter
  endpoint: EndpointOptions
  /** Judge pairs this model judged already again (default: skip them). */
  again: boolean
  /** At most this many pairs (after skipping). */
  limit?: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}

export interface JudgeResult {
  judged: number
  same: number
  different: number
  unsure: number
  skipped: number
  failed: { record: number; paraphrase: number; pair: string; reason: string }[]
  cancelled: boolean
}

/** Whether this model judged the paraphrase's current text already. */
const judgedBy = (pair: FilteredPair, model: string): boolean =>
  storedModelResult(pair.checks, pair.text, 'judge')?.model === model

/** Judges the pairs of a filter through the endpoint, storing each verdict as it comes. */
export async function judgeParaphrases(db: Db, options: JudgeOptions): Promise<JudgeResult> {
  const { endpoint } = options
  const datasetName = findDataset(db, options.datasetId)?.name ?? String(options.datasetId)
  const all = filteredPairs(db, options.datasetId, options.filter)
  const open = options.again ? all : all.filter((pair) => !judgedBy(pair, endpoint.model))
  const todo = open.slice(0, options.limit)
  const result: JudgeResult = {
    judged: 0,
    same: 0,
    different: 0,
    unsure: 0,
    skipped: all.length - open.length,
    failed: [],
    cancelled: false,
  }
  const total = todo.length
  options.onProgress?.(0, total)
  const byId = new Map(todo.map((pair) => [pair.id, pair]))
  const parse = (content: string): { value: ParsedVerdict } => ({ value: parseVerdict(content) })
  const jobs = todo.map((pair) => ({
    id: pair.id,
    prompt: judgePrompt(pair.question, pair.text, pair.answer),
    parse,
  }))
  const url = chatUrl(endpoint.url)
  let done = 0
  const { cancelled } = await chatAll(
    { temperature: 0, topP: 1, ...endpoint },
    jobs,
    (outcome) => {
      const pair = byId.get(outcome.id)!
      const name = `${recordName({ id: pair.record, position: pair.position }, datasetName)}, paraphrase ${pair.id}`
      if (outcome.ok) {
        const finding = judgeFinding(endpoint.model, outcome.value)
        const stored = storeModelResult(db, pair.id, pair.text, 'judge', {
          finding,
          model: endpoint.model,
          verdict: outcome.value.verdict,
          reason: outcome.value.reason,
          parsed: outcome.value.parsed,
        })
        if (stored) {
          result.judged++
          result[outcome.value.verdict]++
        } else {
          result.failed.push({
            record: pair.record,
            paraphrase: pair.id,
            pair: name,
            reason: 'the paraphrase was edited or removed while it was judged; run again to judge its new text',
          })
        }
      } else {
        result.failed.push({ record: pair.record, paraphrase: pair.id, pair: name, reason: `${url}: ${outcome.reason}` })
      }
      options.onProgress?.(++done, total)
    },
    options.signal,
  )
  return { ...result, cancelled }
}
