// A verl pair: two verl files aligned row by row, the original questions and their rewrites, as the
// Co-rewarding-I launcher reads them (`<name>_original.parquet`, `<name>_rewrite.parquet`).
import { join } from 'node:path'
import type { NewRecord, ParaphraseStatus } from '../../store/datasets'
import type { Table, TableRow } from '../import/read-table'
import { paired, readRow, where } from './format'
import type { DatasetWriter } from './format'
import { verl, writeVerlFile } from './verl'

export const FLAG_PAIR_ANSWER_MISMATCH = 'pair-answer-mismatch'

/** A record and the index of the original row it was read from (rows skipped as bad leave gaps). */
export interface RowRecord {
  index: number
  record: NewRecord
}

/** Reads one row with `read`; a bad row either throws or, when bad rows are skipped, is noted and gives undefined. */
export type RowReader = <T>(file: string, row: TableRow, read: () => T) => T | undefined

/**
 * Adds the rewrite file's questions as paraphrases, row by row, checking that the two files align; returns the
 * records kept (a pair whose rewrite row is bad is skipped with it, when `readOne` skips bad rows).
 */
export function alignRewrites(
  records: RowRecord[],
  original: Table,
  rewrite: Table,
  status: ParaphraseStatus,
  readOne: RowReader,
): RowRecord[] {
  if (rewrite.rows.length !== original.rows.length) {
    throw new Error(
      `${rewrite.file}: ${rewrite.rows.length} rows, but ${original.file} has ${original.rows.length}; ` +
        'the rewrite file must align with the original row by row.',
    )
  }
  const kept: RowRecord[] = []
  for (const entry of records) {
    const { index: i, record } = entry
    const row = rewrite.rows[i]!
    const pair = readOne(rewrite.file, row, () =>
      readRow(verl, row, { file: rewrite.file, paraphraseStatus: status, allowEmptyQuestion: true }),
    )
    if (!pair) continue
    const index = (original.rows[i]!.values.extra_info as Record<string, unknown> | undefined)?.index
    const rewriteIndex = (row.values.extra_info as Record<string, unknown> | undefined)?.index
    if (index !== undefined && rewriteIndex !== undefined && index !== rewriteIndex) {
      throw new Error(
        `${where(rewrite.file, row, 'extra_info.index')} is ${JSON.stringify(rewriteIndex)}, but the original's row has ` +
          `${JSON.stringify(index)}; the files are not aligned (sort both by extra_info.index).`,
      )
    }
    if (pair.question.trim() !== '') record.paraphrases = [{ text: pair.question, origin: 'imported', status }]
    if ((pair.answer ?? '').trim() !== (record.answer ?? '').trim())
      record.flags = [...(record.flags ?? []), FLAG_PAIR_ANSWER_MISMATCH]
    kept.push(entry)
  }
  return kept
}

/** The records with a paraphrase, each file asking the original or its first paraphrase. */
export const writeVerlPair: DatasetWriter = (records, { out, base, datasetName }) => {
  const { rows, withoutParaphrase } = paired(records)
  const original = join(out, `${base}_original.parquet`)
  const rewrite = join(out, `${base}_rewrite.parquet`)
  writeVerlFile(original, rows, (r) => r.question, datasetName)
  writeVerlFile(rewrite, rows, (r) => r.paraphrases[0]!.text, datasetName)
  return { files: [original, rewrite], rows: rows.length, withoutParaphrase }
}
