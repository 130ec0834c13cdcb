// GSM8K: `question`, and `answer` the worked solution ending in `#### N`; N (commas removed, as verl's
// preprocessing does) is the GT answer, the solution is kept in the record's source.
import type { TableRow } from '../import/read-table'
import { text, withoutKeys } from './format'
import type { RowFormat } from './format'

/** Tells GSM8K from plain question/answer rows: every answer that is text ends in `#### N`. */
function looksLikeGsm8k(rows: readonly TableRow[]): boolean {
  const sample = rows.slice(0, 50).map((row) => row.values.answer)
  return sample.length > 0 && sample.every((answer) => typeof answer === 'string' && /####\s*\S/.test(answer))
}

export const gsm8k: RowFormat<'gsm8k'> = {
  name: 'gsm8k',
  label: 'gsm8k',
  questionField: 'question',
  needs: ['question', 'answer'],
  detect: (table) => table.columns.includes('question') && table.columns.includes('answer') && looksLikeGsm8k(table.rows),
  read(row, { file }) {
    const v = row.values
    const question = text(file, row, 'question', v.question, true)!
    const solution = text(file, row, 'answer', v.answer, false)
    const marker = solution?.match(/####\s*(.+?)\s*$/)
    return {
      question,
      answer: marker ? marker[1]!.replace(/,/g, '') : null,
      split: typeof v.split === 'string' && v.split ? v.split : 'train',
      source: { ...withoutKeys(v, ['question', 'answer', 'split']), ...(solution !== null ? { solution } : {}) },
    }
  },
}
