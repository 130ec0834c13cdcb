// The row schemas an import recognises, and how each row becomes a record (question, GT answer, split,
// paraphrases, and the other fields kept in `source` so an export can write them back):
//
// - verl:   chat `prompt` (list of {role, content}; the last user turn is the question),
//           `reward_model.ground_truth`, `extra_info` {index, split, ...}, optional data_source, ability,
//           level, type, solution (co-rewarding.md section 11).
// - pairs:  `original_question`, `rephrased_question`, `solution` (= the GT answer), idx, level, type,
//           original_message, rephrased_message.
// - gsm8k:  `question`, `answer` ending in `#### N`; N (commas removed, as verl's preprocessing does) is the GT.
// - plain:  `question` with `answer` (optional `paraphrases` list or `paraphrase`, `split`): what `cwb export
//           --format jsonl` writes.
// - mapped: any columns, named with `--map question=COL,answer=COL,paraphrase=COL,split=COL` (dotted paths
//           reach into nested fields, e.g. answer=reward_model.ground_truth).
import type { NewParaphrase, NewRecord, ParaphraseStatus } from '../../store/datasets'
import type { TableRow } from './read-table'

export const SCHEMAS = ['verl', 'pairs', 'gsm8k', 'plain'] as const
export type Schema = (typeof SCHEMAS)[number]

export interface ColumnMap {
  question: string
  answer?: string
  paraphrase?: string
  split?: string
}

export const MAP_FIELDS = ['question', 'answer', 'paraphrase', 'split'] as const

/** Parses `question=COL,answer=COL,...`, naming what is wrong. */
export function parseColumnMap(text: string): ColumnMap {
  const map: Partial<ColumnMap> = {}
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [field, column] = part.split('=').map((s) => s.trim())
    if (!field || !column) throw new Error(`--map: "${part}" is not FIELD=COLUMN; e.g. --map question=problem,answer=solution`)
    if (!(MAP_FIELDS as readonly string[]).includes(field))
      throw new Error(`--map: unknown field "${field}"; the fields are ${MAP_FIELDS.join(', ')}`)
    map[field as keyof ColumnMap] = column
  }
  if (!map.question) throw new Error('--map: question=COLUMN is required; e.g. --map question=problem,answer=solution')
  return map as ColumnMap
}

/** Recognises a schema by its columns, or undefined when none matches. */
export function detectSchema(columns: readonly string[]): Schema | undefined {
  const has = (name: string): boolean => columns.includes(name)
  if (has('prompt') && has('reward_model')) return 'verl'
  if (has('original_question') && has('rephrased_question')) return 'pairs'
  if (has('question') && has('answer')) return 'plain'
  return undefined
}

/** Distinguishes GSM8K from plain question/answer rows: every answer that is text ends in `#### N`. */
export function looksLikeGsm8k(rows: readonly TableRow[]): boolean {
  const sample = rows.slice(0, 50).map((row) => row.values.answer)
  return sample.length > 0 && sample.every((answer) => typeof answer === 'string' && /####\s*\S/.test(answer))
}

export function pathValue(values: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(values, path)) return values[path]
  let current: unknown = values
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<string, unknown>)[part]
  }
  return current
}

export class RowError extends Error {}

const where = (file: string, row: TableRow, field: string): string => `${file}: row at ${row.at}: field "${field}"`

/** The longest question, answer or paraphrase imported (2 Mi characters): far beyond any math problem, short of a dump. */
export const MAX_TEXT_CHARS = 2 * 1024 * 1024
/** How deep a row's values may nest (JSON from a broken exporter can nest without end; storing it would overflow). */
export const MAX_NESTING = 64

function limited(file: string, row: TableRow, field: string, value: string): string {
  if (value.length > MAX_TEXT_CHARS) {
    throw new RowError(
      `${where(file, row, field)} is ${value.length} characters long; the limit is ${MAX_TEXT_CHARS} (is it the right column?).`,
    )
  }
  return value
}

/** A required text field: strings as they are; numbers (GT answers often are) as decimal text. */
function text(file: string, row: TableRow, field: string, value: unknown, required: boolean): string | null {
  if (value === undefined || value === null) {
    if (required) throw new RowError(`${where(file, row, field)} is missing; every row needs it (or map another column).`)
    return null
  }
  if (typeof value === 'string') return limited(file, row, field, value)
  if (typeof value === 'number' && !Number.isFinite(value))
    throw new RowError(`${where(file, row, field)} is not a finite number (${value}; NaN, or too large to hold); fix the value.`)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw new RowError(`${where(file, row, field)} should be text, got ${Array.isArray(value) ? 'a list' : typeof value}.`)
}

type Message = { role?: unknown; content?: unknown }

/** The question of a chat prompt: the last user turn; and the system turn, kept for exports. */
function chatQuestion(file: string, row: TableRow, field: string, prompt: unknown): { question: string; system?: string } {
  if (typeof prompt === 'string') return { question: prompt }
  if (!Array.isArray(prompt))
    throw new RowError(`${where(file, row, field)} should be a list of {role, content} messages, got ${typeof prompt}.`)
  const messages = prompt as Message[]
  const user = [...messages].reverse().find((m) => m && m.role === 'user')
  if (!user || typeof user.content !== 'string')
    throw new RowError(`${where(file, row, field)} has no user message with text content; the question is the last user turn.`)
  const system = messages.find((m) => m && m.role === 'system')
  return { question: user.content, ...(typeof system?.content === 'string' ? { system: system.content } : {}) }
}

function withoutKeys(values: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([key]) => !keys.includes(key)))
}

export interface RowContext {
  file: string
  paraphraseStatus: ParaphraseStatus
  /** A verl pair's rewrite row may be empty (the record then has no paraphrase). */
  allowEmptyQuestion?: boolean
}

const imported = (textValue: string, status: ParaphraseStatus): NewParaphrase => ({ text: textValue, origin: 'imported', status })

/** The column of each schema the question comes from. */
const QUESTION_FIELD: Record<Schema, string> = {
  verl: 'prompt',
  pairs: 'original_question',
  gsm8k: 'question',
  plain: 'question',
}

/** The first column nested deeper than MAX_NESTING, if any (walked without recursion, so depth cannot overflow it). */
function tooDeep(values: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(values)) {
    const stack: [unknown, number][] = [[value, 1]]
    while (stack.length > 0) {
      const [current, depth] = stack.pop()!
      if (current === null || typeof current !== 'object') continue
      if (depth > MAX_NESTING) return key
      for (const child of Object.values(current)) stack.push([child, depth + 1])
    }
  }
  return undefined
}

/** Checks what every record needs whatever its schema: a question, and values that can be stored. */
function checked(record: NewRecord, row: TableRow, file: string, questionField: string, allowEmpty = false): NewRecord {
  if (!allowEmpty && record.question.trim() === '')
    throw new RowError(`${where(file, row, questionField)} is empty; every row needs a question.`)
  limited(file, row, questionField, record.question)
  for (const [i, paraphrase] of (record.paraphrases ?? []).entries()) limited(file, row, `paraphrases[${i}]`, paraphrase.text)
  const deep = tooDeep(row.values)
  if (deep !== undefined)
    throw new RowError(
      `${where(file, row, deep)} is nested more than ${MAX_NESTING} levels deep; flatten it or leave the column out.`,
    )
  return record
}

/** One row of a recognised schema as a record (flags are added later, over the whole import). */
export function rowToRecord(schema: Schema, row: TableRow, context: RowContext): NewRecord {
  return checked(convertRow(schema, row, context), row, context.file, QUESTION_FIELD[schema], context.allowEmptyQuestion)
}

function convertRow(schema: Schema, row: TableRow, context: RowContext): NewRecord {
  const { file } = context
  const v = row.values
  switch (schema) {
    case 'verl': {
      const { question, system } = chatQuestion(file, row, 'prompt', v.prompt)
      const reward = v.reward_model
      if (reward !== undefined && reward !== null && typeof reward !== 'object')
        throw new RowError(`${where(file, row, 'reward_model')} should be {ground_truth, style}, got ${typeof reward}.`)
      const answer = text(file, row, 'reward_model.ground_truth', (reward as Record<string, unknown> | null)?.ground_truth, false)
      const extra = (v.extra_info ?? {}) as Record<string, unknown>
      const split = typeof extra.split === 'string' && extra.split ? extra.split : 'train'
      // The GT lives in the record's answer (where the quarantine applies), not twice in its source.
      const { ground_truth: _gt, ...rewardRest } = (reward ?? {}) as Record<string, unknown>
      void _gt
      return {
        question,
        answer,
        split,
        source: {
          ...withoutKeys(v, ['prompt']),
          ...(reward !== undefined && reward !== null ? { reward_model: rewardRest } : {}),
          ...(system !== undefined ? { system } : {}),
        },
      }
    }
    case 'pairs': {
      const question = text(file, row, 'original_question', v.original_question, true)!
      const paraphrase = text(file, row, 'rephrased_question', v.rephrased_question, false)
      const system = Array.isArray(v.original_message)
        ? (v.original_message as Message[]).find((m) => m?.role === 'system')?.content
        : undefined
      return {
        question,
        answer: text(file, row, 'solution', v.solution, false),
        split: typeof v.split === 'string' && v.split ? v.split : 'train',
        source: {
          ...withoutKeys(v, [
            'original_question',
            'rephrased_question',
            'solution',
            'original_message',
            'rephrased_message',
            'split',
          ]),
          ...(typeof system === 'string' ? { system } : {}),
        },
        paraphrases: paraphrase?.trim() ? [imported(paraphrase, context.paraphraseStatus)] : [],
      }
    }
    case 'gsm8k': {
      const question = text(file, row, 'question', v.question, true)!
      const solution = text(file, row, 'answer', v.answer, false)
      const marker = solution?.match(/####\s*(.+?)\s*$/)
      return {
        question,
        answer: marker ? marker[1]!.replace(/,/g, '') : null,
        split: typeof v.split === 'string' && v.split ? v.split : 'train',
        source: { ...withoutKeys(v, ['question', 'answer', 'split']), ...(solution !== null ? { solution } : {}) },
      }
    }
    case 'plain': {
      const question = text(file, row, 'question', v.question, true)!
      const list = v.paraphrases
      let paraphrases: NewParaphrase[] = []
      if (Array.isArray(list)) {
        paraphrases = list.map((item, i) => {
          if (typeof item === 'string') return imported(item, context.paraphraseStatus)
          const entry = item as { text?: unknown; status?: unknown }
          if (!entry || typeof entry.text !== 'string')
            throw new RowError(`${where(file, row, `paraphrases[${i}]`)} should be text or {text, status}.`)
          const status =
            (['pending', 'accepted', 'rejected'] as const).find((s) => s === entry.status) ?? context.paraphraseStatus
          return imported(entry.text, status)
        })
      } else if (list !== undefined && list !== null) {
        throw new RowError(`${where(file, row, 'paraphrases')} should be a list, got ${typeof list}.`)
      }
      const single = text(file, row, 'paraphrase', v.paraphrase, false)
      if (single?.trim()) paraphrases.push(imported(single, context.paraphraseStatus))
      const source = v.source !== null && typeof v.source === 'object' && !Array.isArray(v.source) ? v.source : {}
      return {
        question,
        answer: text(file, row, 'answer', v.answer, false),
        split: typeof v.split === 'string' && v.split ? v.split : 'train',
        source: source as Record<string, unknown>,
        paraphrases: paraphrases.filter((p) => p.text.trim() !== ''),
      }
    }
  }
}

/** A row read through a column map. */
export function mappedRowToRecord(map: ColumnMap, row: TableRow, context: RowContext): NewRecord {
  const { file } = context
  const question = text(file, row, map.question, pathValue(row.values, map.question), true)!
  const answer = map.answer ? text(file, row, map.answer, pathValue(row.values, map.answer), false) : null
  const paraphrase = map.paraphrase ? text(file, row, map.paraphrase, pathValue(row.values, map.paraphrase), false) : null
  const split = map.split ? text(file, row, map.split, pathValue(row.values, map.split), false) : null
  const used = [map.question, map.answer, map.paraphrase, map.split].filter((c): c is string => c !== undefined)
  return checked(
    {
      question,
      answer,
      split: split?.trim() || 'train',
      source: withoutKeys(row.values, used),
      paraphrases: paraphrase?.trim() ? [imported(paraphrase, context.paraphraseStatus)] : [],
    },
    row,
    file,
    map.question,
  )
}
