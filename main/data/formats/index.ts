// The dataset formats, one module each, and the one list `--format auto` asks in order. The names a user gives
// (`--format`, the export formats) are preload/constants' lists: the maps below are typed against them, so a name
// without a format, or a format under a name the user cannot give, does not compile.
import type { EXPORT_FORMATS, IMPORT_FORMATS, IMPORT_SCHEMAS } from '../../../preload/constants'
import type { Table } from '../import/read-table'
import type { DatasetWriter, RowFormat } from './format'
import { gsm8k } from './gsm8k'
import { pairs, writePairs } from './pairs'
import { plain, writeJsonl } from './plain'
import { verl } from './verl'
import { writeVerlPair } from './verl-pair'

export type ImportFormat = (typeof IMPORT_FORMATS)[number]
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export type Schema = (typeof IMPORT_SCHEMAS)[number]

/**
 * The row formats `--format auto` recognises (one per schema), asked in this order: GSM8K before plain, as it is
 * question/answer rows with worked answers.
 */
export const ROW_FORMATS: readonly RowFormat<Schema>[] = [verl, pairs, gsm8k, plain]

/** What each `--format` names: the row format it reads (a verl pair: two aligned files of verl rows), or null for a
 * file container, whose rows are recognised. */
const NAMED: Record<Exclude<ImportFormat, 'auto'>, RowFormat<Schema> | null> = {
  jsonl: null,
  csv: null,
  parquet: null,
  verl,
  'verl-pair': verl,
  pairs,
  gsm8k,
}

export const WRITERS: Record<ExportFormat, DatasetWriter> = { 'verl-pair': writeVerlPair, pairs: writePairs, jsonl: writeJsonl }

/** The row format `format` names, else the first that recognises the table; undefined when none does. */
export function recognise(table: Table, format: ImportFormat): RowFormat<Schema> | undefined {
  return (format === 'auto' ? null : NAMED[format]) ?? ROW_FORMATS.find((f) => f.detect(table))
}

/** recognise's format, refusing a table it recognises none in or one without the columns its format needs. */
export function rowFormatOf(table: Table, format: ImportFormat): RowFormat<Schema> {
  const found = recognise(table, format)
  if (!found) {
    throw new Error(
      `${table.file}: the columns (${table.columns.join(', ')}) match no known schema (${ROW_FORMATS.map((f) => f.label).join(', ')}); ` +
        'name them with --map question=COL,answer=COL[,paraphrase=COL][,split=COL].',
    )
  }
  const missing = found.needs.filter((column) => !table.columns.includes(column))
  if (missing.length > 0) {
    throw new Error(
      `${table.file}: the ${found.name} format needs column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, ` +
        `but the file has ${table.columns.join(', ')}; pass the right --format or a --map.`,
    )
  }
  return found
}
