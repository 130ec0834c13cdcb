// The released Co-rewarding pairs: `original_question`, `rephrased_question`, `solution` (= the GT answer), idx,
// level, type, original_message, rephrased_message. Written back as `<name>_pairs.parquet` with the same columns.
import { join } from 'node:path'
import type { NewParaphrase } from '../../store/datasets'
import { imported, paired, text, withoutKeys } from './format'
import type { DatasetWriter, Message, RowFormat } from './format'
import { chatColumn, int64Column, messages, sourceText, textColumn, writeParquet } from './parquet'

export const pairs: RowFormat<'pairs'> = {
  name: 'pairs',
  label: 'pairs',
  questionField: 'original_question',
  needs: ['original_question', 'rephrased_question'],
  detect: (table) => table.columns.includes('original_question') && table.columns.includes('rephrased_question'),
  read(row, { file, paraphraseStatus }) {
    const v = row.values
    const question = text(file, row, 'original_question', v.original_question, true)!
    const paraphrase = text(file, row, 'rephrased_question', v.rephrased_question, false)
    const system = Array.isArray(v.original_message)
      ? (v.original_message as Message[]).find((m) => m?.role === 'system')?.content
      : undefined
    const paraphrases: NewParaphrase[] = paraphrase?.trim() ? [imported(paraphrase, paraphraseStatus)] : []
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
      paraphrases,
    }
  },
}

/** The records with a paraphrase, each with its first one. */
export const writePairs: DatasetWriter = (records, { out, base }) => {
  const { rows, withoutParaphrase } = paired(records)
  const file = join(out, `${base}_pairs.parquet`)
  const extraKeys = [...new Set(rows.flatMap((r) => Object.keys(r.source)))].filter((k) => k !== 'idx' && k !== 'system')
  writeParquet(file, [
    int64Column(
      'idx',
      rows.map((r) => (typeof r.source.idx === 'number' ? r.source.idx : r.position)),
    ),
    textColumn(
      'original_question',
      rows.map((r) => r.question),
    ),
    textColumn(
      'rephrased_question',
      rows.map((r) => r.paraphrases[0]!.text),
    ),
    textColumn(
      'solution',
      rows.map((r) => r.answer),
    ),
    ...extraKeys.map((key) =>
      textColumn(
        key,
        rows.map((r) => sourceText(r.source[key])),
      ),
    ),
    chatColumn(
      'original_message',
      rows.map((r) => messages(r.source.system, r.question)),
    ),
    chatColumn(
      'rephrased_message',
      rows.map((r) => messages(r.source.system, r.paraphrases[0]!.text)),
    ),
  ])
  return { files: [file], rows: rows.length, withoutParaphrase }
}
