// Plain question/answer rows: `question` with `answer`, optional `paraphrases` (text or {text, status}) or
// `paraphrase`, `split` and `source`. Written back as `<name>.jsonl`, one record per line with all its paraphrases:
// what `cwb import` reads back.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PARAPHRASE_STATUSES } from '../../../preload/constants'
import type { NewParaphrase } from '../../store/datasets'
import { imported, RowError, text } from './format'
import type { DatasetWriter, RowFormat } from './format'

export const plain: RowFormat<'plain'> = {
  name: 'plain',
  label: 'question/answer',
  questionField: 'question',
  needs: ['question'],
  detect: (table) => table.columns.includes('question') && table.columns.includes('answer'),
  read(row, { file, paraphraseStatus }) {
    const v = row.values
    const question = text(file, row, 'question', v.question, true)!
    const list = v.paraphrases
    let paraphrases: NewParaphrase[] = []
    if (Array.isArray(list)) {
      paraphrases = list.map((item, i) => {
        if (typeof item === 'string') return imported(item, paraphraseStatus)
        const entry = item as { text?: unknown; status?: unknown }
        if (!entry || typeof entry.text !== 'string')
          throw new RowError(file, row, `paraphrases[${i}]`, `should be text or {text, status}.`)
        return imported(entry.text, PARAPHRASE_STATUSES.find((s) => s === entry.status) ?? paraphraseStatus)
      })
    } else if (list !== undefined && list !== null) {
      throw new RowError(file, row, 'paraphrases', `should be a list, got ${typeof list}.`)
    }
    const single = text(file, row, 'paraphrase', v.paraphrase, false)
    if (single?.trim()) paraphrases.push(imported(single, paraphraseStatus))
    const source = v.source !== null && typeof v.source === 'object' && !Array.isArray(v.source) ? v.source : {}
    return {
      question,
      answer: text(file, row, 'answer', v.answer, false),
      split: typeof v.split === 'string' && v.split ? v.split : 'train',
      source: source as Record<string, unknown>,
      paraphrases: paraphrases.filter((p) => p.text.trim() !== ''),
    }
  },
}

/** Every record, with all its exportable paraphrases. */
export const writeJsonl: DatasetWriter = (records, { out, base }) => {
  const file = join(out, `${base}.jsonl`)
  const lines = records.map((r) =>
    JSON.stringify({ question: r.question, answer: r.answer, split: r.split, paraphrases: r.paraphrases, source: r.source }),
  )
  writeFileSync(file, lines.length ? `${lines.join('\n')}\n` : '')
  return { files: [file], rows: records.length, withoutParaphrase: 0 }
}
