// Any columns of a JSONL, CSV or Parquet file, named with `--map question=COL,answer=COL,paraphrase=COL,split=COL`
// (dotted paths reach into nested fields, e.g. answer=reward_model.ground_truth).
import { IMPORT_MAP_FIELDS } from '../../../preload/constants'
import type { NewRecord } from '../../store/datasets'
import type { TableRow } from '../import/read-table'
import { checked, imported, text, withoutKeys } from './format'
import type { RowContext } from './format'

export interface ColumnMap {
  question: string
  answer?: string
  paraphrase?: string
  split?: string
}

/** Parses `question=COL,answer=COL,...`, naming what is wrong. */
export function parseColumnMap(textValue: string): ColumnMap {
  const map: Partial<ColumnMap> = {}
  for (const part of textValue
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [field, column] = part.split('=').map((s) => s.trim())
    if (!field || !column) throw new Error(`--map: "${part}" is not FIELD=COLUMN; e.g. --map question=problem,answer=solution`)
    if (!(IMPORT_MAP_FIELDS as readonly string[]).includes(field))
      throw new Error(`--map: unknown field "${field}"; the fields are ${IMPORT_MAP_FIELDS.join(', ')}`)
    map[field as keyof ColumnMap] = column
  }
  if (!map.question) throw new Error('--map: question=COLUMN is required; e.g. --map question=problem,answer=solution')
  return map as ColumnMap
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

/** A row read through a column map; the columns not mapped are kept in the record's source. */
export function readMappedRow(map: ColumnMap, row: TableRow, context: RowContext): NewRecord {
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
