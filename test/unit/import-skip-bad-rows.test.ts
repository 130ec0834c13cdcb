// Rows named as a user finds them ("data row N (file line M)"; Parquet has no lines), and an import that skips bad
// rows: the other rows are stored, each skipped one is listed with its row, line, field and reason, and without the
// option the first bad row still fails the whole import (nothing stored), its message saying how to skip it.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parquetWriteFile } from 'hyparquet-writer'
import { describe, expect, it } from 'vitest'
import { importDataset, skippedText } from '../../main/data/import/import'
import { previewImport } from '../../main/data/import/preview'
import { datasetRecords } from '../../main/store/datasets'
import type { Db } from '../../main/store/database'
import { freshStores } from '../helpers/stores'
import { freshDirs } from '../helpers/workspace'

const openStore = freshStores()
const freshDir = freshDirs()

function fixture(name: string, content: string): string {
  const file = join(freshDir(), name)
  writeFileSync(file, content)
  return file
}

const datasetCount = (db: Db): number => (db.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }).n

// Data row 2 spans file lines 3-4 (a quoted newline), so the empty question of data row 3 is on file line 5.
const CSV = 'question,answer\nWhat is 1 + 1?,2\n"Two lines:\nwhat is 2 + 2?",4\n,6\nWhat is 3 + 3?,6\n'

describe('row references say "data row N (file line M)"', () => {
  it('CSV: the data row counts from 1 after the header; the line is where the record starts', async () => {
    const { db } = openStore()
    await expect(importDataset(db, { path: fixture('quoted.csv', CSV) })).rejects.toThrow(
      /quoted\.csv: data row 3 \(file line 5\): field "question" is empty; every row needs a question\. Fix it, or skip bad rows \(`cwb import --skip-bad-rows`/,
    )
    expect(datasetCount(db)).toBe(0)
  })

  it('CSV: a record that does not parse is named the same way', async () => {
    const { db } = openStore()
    const file = fixture('ragged.csv', 'question,answer\n"A\nB",1\n\nC?,2,extra\n')
    await expect(importDataset(db, { path: file })).rejects.toThrow(/ragged\.csv: data row 2 \(file line 5\): not valid CSV/)
  })

  it('JSONL: blank lines are not data rows', async () => {
    const { db } = openStore()
    const file = fixture('gaps.jsonl', '{"question": "A?", "answer": "1"}\n\n\n{"question": "", "answer": "2"}\n')
    await expect(importDataset(db, { path: file })).rejects.toThrow(
      /gaps\.jsonl: data row 2 \(file line 4\): field "question" is empty/,
    )
    const broken = fixture('broken.jsonl', '\n{"question": "A?", "answer": "1"}\n{"question": \n')
    await expect(importDataset(db, { path: broken })).rejects.toThrow(/broken\.jsonl: data row 2 \(file line 3\): not valid JSON/)
  })

  it('Parquet: the data row only', async () => {
    const { db } = openStore()
    const file = join(freshDir(), 'rows.parquet')
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'question', data: ['A?', 'B?', ' '] },
        { name: 'answer', data: ['1', '2', '3'] },
      ],
    })
    await expect(importDataset(db, { path: file })).rejects.toThrow(/rows\.parquet: data row 3: field "question" is empty/)
  })
})

describe('skipBadRows', () => {
  it('stores the good rows of a CSV and lists the skipped ones with row, line, field and reason', async () => {
    const { db } = openStore()
    const file = fixture('mixed.csv', `${CSV.trimEnd()}\nWhat is 4 + 4?,8,surplus\n`)
    const result = await importDataset(db, { path: file, skipBadRows: true })
    expect(result).toMatchObject({ name: 'mixed', records: 3 })
    expect(datasetRecords(db, result.id).map((r) => r.answer)).toEqual(['2', '4', '6'])
    expect(result.skipped).toEqual([
      {
        file,
        row: 3,
        line: 5,
        field: 'question',
        reason: 'is empty; every row needs a question.',
      },
      { file, row: 5, line: 7, field: null, reason: expect.stringMatching(/^not valid CSV \(Invalid Record Length/) },
    ])
    expect(skippedText(result.skipped[0]!)).toBe(
      'data row 3 (file line 5): field "question" is empty; every row needs a question.',
    )
  })

  it('skips JSONL lines that are not JSON objects', async () => {
    const { db } = openStore()
    const file = fixture('lines.jsonl', '{"question": "A?", "answer": "1"}\nnot json\n[1]\n{"question": "B?", "answer": "2"}\n')
    const result = await importDataset(db, { path: file, skipBadRows: true })
    expect(result.records).toBe(2)
    expect(result.skipped.map((s) => [s.row, s.line, s.field, s.reason.split(' (')[0]])).toEqual([
      [2, 2, null, 'not valid JSON'],
      [
        3,
        3,
        null,
        'expected one JSON object per line, got an array; each row is one {"question": ..., "answer": ...} object on a line of its own.',
      ],
    ])
  })

  it('skips a verl pair whose rewrite row is bad, keeping the other pairs aligned', async () => {
    const { db } = openStore()
    const dir = freshDir()
    const row = (q: unknown, index: number): string =>
      JSON.stringify({ prompt: q, reward_model: { ground_truth: String(index), style: 'rule' }, extra_info: { index } })
    const original = join(dir, 'toy_original.jsonl')
    const rewrite = join(dir, 'toy_rewrite.jsonl')
    writeFileSync(original, [row('Q0?', 0), row('', 1), row('Q2?', 2), row('Q3?', 3)].join('\n'))
    writeFileSync(rewrite, [row('R0?', 0), row('R1?', 1), row(7, 2), row('R3?', 3)].join('\n'))
    const result = await importDataset(db, { path: original, rewrite, format: 'verl-pair', skipBadRows: true })
    expect(result.records).toBe(2)
    const pairs = db
      .prepare(
        'SELECT r.question, p.text FROM records r JOIN paraphrases p ON p.record_id = r.id WHERE r.dataset_id = ? ORDER BY r.position',
      )
      .all(result.id)
    expect(pairs).toEqual([
      { question: 'Q0?', text: 'R0?' },
      { question: 'Q3?', text: 'R3?' },
    ])
    expect(result.skipped.map((s) => [s.file, s.row, s.field])).toEqual([
      [original, 2, 'prompt'],
      [rewrite, 3, 'prompt'],
    ])
  })

  it('refuses a file whose every row is bad, and stores nothing', async () => {
    const { db } = openStore()
    const file = fixture('none.csv', 'question,answer\n,1\n ,2\n')
    await expect(importDataset(db, { path: file, skipBadRows: true })).rejects.toThrow(
      /none\.csv: all 2 rows are bad, so there is nothing to import; the first: data row 1 \(file line 2\): field "question" is empty/,
    )
    expect(datasetCount(db)).toBe(0)
  })
})

describe('the import preview', () => {
  it('counts the rows that cannot be read and names the first, instead of failing', async () => {
    const file = fixture('some-bad.jsonl', '{"question": "A?", "answer": "1"}\n\n{oops\n{"question": "B?", "answer": "2"}\n')
    const preview = await previewImport(file, 'auto')
    expect(preview).toMatchObject({ schema: 'plain', rows: 3, columns: ['question', 'answer'] })
    expect(preview.sample).toEqual([
      { question: 'A?', answer: '1' },
      { question: 'B?', answer: '2' },
    ])
    expect(preview.unreadable).toEqual({
      rows: 1,
      first: expect.stringMatching(/some-bad\.jsonl: data row 2 \(file line 3\): not valid JSON/),
    })
  })
})
