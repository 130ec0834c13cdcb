// Exporting a dataset for training here or on verl, in one of the formats of main/data/formats/ (verl-pair, pairs,
// jsonl). Rejected paraphrases are never exported; --accepted-only keeps only accepted ones. The pair formats take
// one paraphrase per record (the first accepted, else the first pending) and leave out records without one.
import { mkdirSync } from 'node:fs'
import type { Db } from '../../store/database'
import { exportableRecords, findDataset } from '../../store/datasets'
import type { StoredDataset } from '../../store/datasets'
import { WRITERS } from '../formats'
import type { ExportFormat } from '../formats'
import type { Written } from '../formats/format'
import { writeVerlFile } from '../formats/verl'

export interface ExportOptions {
  format: ExportFormat
  out: string
  acceptedOnly?: boolean
  /** Only the records of this split. */
  split?: string
  /** File names start with this (default: the dataset's name). */
  prefix?: string
}

export interface ExportResult extends Written {
  dataset: number
}

function requireDataset(db: Db, datasetSpec: string): StoredDataset {
  const dataset = findDataset(db, datasetSpec)
  if (!dataset) throw new Error(`No dataset "${datasetSpec}" in this workspace; \`cwb datasets\` lists them.`)
  return dataset
}

export function exportDataset(db: Db, datasetSpec: string, options: ExportOptions): ExportResult {
  const dataset = requireDataset(db, datasetSpec)
  const records = exportableRecords(db, dataset.id, options.acceptedOnly ?? false).filter(
    (r) => options.split === undefined || r.split === options.split,
  )
  mkdirSync(options.out, { recursive: true })
  const base = (options.prefix ?? dataset.name).replace(/[^\w.-]+/g, '_')
  return { dataset: dataset.id, ...WRITERS[options.format](records, { out: options.out, base, datasetName: dataset.name }) }
}

/** One verl Parquet file of a dataset's records (a split's, labelled only when asked), as verl's data.train_files / val_files read it. */
export function exportVerlFile(
  db: Db,
  datasetSpec: string,
  options: { file: string; split?: string; labelledOnly?: boolean },
): { rows: number } {
  const dataset = requireDataset(db, datasetSpec)
  const rows = exportableRecords(db, dataset.id, false).filter(
    (r) =>
      (options.split === undefined || r.split === options.split) && (!options.labelledOnly || (r.answer ?? '').trim() !== ''),
  )
  writeVerlFile(options.file, rows, (r) => r.question, dataset.name)
  return { rows: rows.length }
}
