// Importing every supported format from fixtures the test writes, and refusing malformed files with an error that
// names the file, the row and the field, leaving the store as it was.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parquetWriteFile } from 'hyparquet-writer'
import { describe, expect, it } from 'vitest'
import { EXPORT_FORMATS, IMPORT_SCHEMAS } from '../../preload/constants'
import { exportDataset } from '../../main/data/export/export'
import { ROW_FORMATS, rowFormatOf, WRITERS } from '../../main/data/formats'
import { importDataset } from '../../main/data/import/import'
import { parseColumnMap } from '../../main/data/formats/mapped'
import { datasetRecords } from '../../main/store/datasets'
import type { Db } from '../../main/store/database'
import { freshStores } from '../helpers/stores'
import { freshDirs } from '../helpers/workspace'

const openStore = freshStores()
const freshDir = freshDirs()

function fixture(name: string, content: string | Buffer): string {
  const file = join(freshDir(), name)
  writeFileSync(file, content)
  return file
}

const jsonl = (rows: object[]): string => rows.map((row) => JSON.stringify(row)).join('\n') + '\n'

const verlRows = [
  { q: 'What is 2 + 3?', gt: '5', index: 0 },
  { q: 'What is 7 - 4?', gt: '3', index: 1 },
  { q: 'What is 2 + 3?', gt: '', index: 2 },
]

function writeVerl(file: string, rows: typeof verlRows): string {
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'data_source', data: rows.map(() => 'toy') },
      {
        name: 'prompt',
        data: rows.map((r) => [
          { content: 'Think step by step.', role: 'system' },
          { content: r.q, role: 'user' },
        ]),
      },
      { name: 'ability', data: rows.map(() => 'math') },
      { name: 'reward_model', data: rows.map((r) => ({ ground_truth: r.gt, style: 'rule' })) },
      { name: 'extra_info', data: rows.map((r) => ({ index: BigInt(r.index), split: 'train' })) },
    ],
    schema: [
      { name: 'root', num_children: 5 },
      { name: 'data_source', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'prompt', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'ability', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'reward_model', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'ground_truth', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'style', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'extra_info', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'index', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'split', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ] as never,
  })
  return file
}

function flagsOf(db: Db, dataset: number): string[][] {
  return (db.prepare('SELECT flags FROM records WHERE dataset_id = ? ORDER BY position').all(dataset) as { flags: string }[]).map(
    (row) => JSON.parse(row.flags) as string[],
  )
}

function paraphrasesOf(db: Db, dataset: number): { text: string; status: string; origin: string }[] {
  return db
    .prepare(
      'SELECT p.text, p.status, p.origin FROM paraphrases p JOIN records r ON r.id = p.record_id WHERE r.dataset_id = ? ORDER BY r.position, p.id',
    )
    .all(dataset) as { text: string; status: string; origin: string }[]
}

const datasetCount = (db: Db): number => (db.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }).n
const recordCount = (db: Db): number => (db.prepare('SELECT COUNT(*) AS n FROM records').get() as { n: number }).n

describe('importing the supported formats', () => {
  it('reads a verl Parquet file: the last user turn is the question, reward_model.ground_truth the answer', async () => {
    const { db } = openStore()
    const result = await importDataset(db, { path: writeVerl(join(freshDir(), 'toy.parquet'), verlRows) })
    expect(result).toMatchObject({ name: 'toy', schema: 'verl', records: 3, withAnswer: 2, paraphrases: 0 })
    const records = datasetRecords(db, result.id)
    expect(records.map((r) => [r.question, r.answer, r.split])).toEqual([
      ['What is 2 + 3?', '5', 'train'],
      ['What is 7 - 4?', '3', 'train'],
      ['What is 2 + 3?', '', 'train'],
    ])
    expect(records[0]!.source).toMatchObject({ data_source: 'toy', system: 'Think step by step.', extra_info: { index: 0 } })
    // Nothing is dropped or merged: the repeated question and the empty answer are imported and flagged.
    expect(flagsOf(db, result.id)).toEqual([['duplicate'], [], ['duplicate', 'no-answer']])
  })

  it('pairs an aligned verl original and rewrite file row by row', async () => {
    const { db } = openStore()
    const dir = freshDir()
    const original = writeVerl(join(dir, 'toy_original.parquet'), verlRows.slice(0, 2))
    const rewrite = writeVerl(
      join(dir, 'toy_rewrite.parquet'),
      verlRows.slice(0, 2).map((r) => ({ ...r, q: `Rephrased: ${r.q}` })),
    )
    const result = await importDataset(db, { path: original, rewrite, format: 'verl-pair' })
    expect(result).toMatchObject({ name: 'toy', records: 2, paraphrases: 2, withAnswer: 2 })
    expect(paraphrasesOf(db, result.id)).toEqual([
      { text: 'Rephrased: What is 2 + 3?', status: 'accepted', origin: 'imported' },
      { text: 'Rephrased: What is 7 - 4?', status: 'accepted', origin: 'imported' },
    ])
  })

  it('refuses a rewrite file that is not aligned, naming the row and field', async () => {
    const { db } = openStore()
    const dir = freshDir()
    const original = writeVerl(join(dir, 'a.parquet'), verlRows.slice(0, 2))
    const rewrite = writeVerl(join(dir, 'b.parquet'), [verlRows[1]!, verlRows[0]!])
    await expect(importDataset(db, { path: original, rewrite })).rejects.toThrow(
      /b\.parquet: data row 1: field "extra_info\.index"/,
    )
    const short = writeVerl(join(dir, 'c.parquet'), verlRows.slice(0, 1))
    await expect(importDataset(db, { path: original, rewrite: short })).rejects.toThrow(
      /c\.parquet: 1 rows, but .*a\.parquet has 2/,
    )
    expect(datasetCount(db)).toBe(0)
  })

  it('reads GSM8K JSONL: the number after #### (commas removed) is the answer, the worked solution is kept', async () => {
    const { db } = openStore()
    const file = fixture(
      'gsm.jsonl',
      jsonl([
        { question: 'Tom has 3 apples and buys 4. How many?', answer: 'He has 3 + 4 = 7.\n#### 7' },
        { question: 'A farm has 1,200 cows and sells 200.', answer: '1,200 - 200 = 1,000\n#### 1,000' },
      ]),
    )
    const result = await importDataset(db, { path: file })
    expect(result.schema).toBe('gsm8k')
    const records = datasetRecords(db, result.id)
    expect(records.map((r) => r.answer)).toEqual(['7', '1000'])
    expect(records[0]!.source).toEqual({ solution: 'He has 3 + 4 = 7.\n#### 7' })
  })

  it('reads CSV with a header, quoted newlines and a BOM', async () => {
    const { db } = openStore()
    const file = fixture(
      'qa.csv',
      '\uFEFFquestion,answer,paraphrase\n"What is 6 x 7?\nShow work.",42,"Six sevens?"\nWhat is 1 + 1?,2,\n',
    )
    const result = await importDataset(db, { path: file })
    expect(result).toMatchObject({ schema: 'plain', records: 2, paraphrases: 1, withAnswer: 2 })
    expect(datasetRecords(db, result.id).map((r) => r.question)).toEqual(['What is 6 x 7?\nShow work.', 'What is 1 + 1?'])
  })

  it('applies a column map to an unknown schema, reaching into nested fields', async () => {
    const { db } = openStore()
    const file = fixture(
      'odd.jsonl',
      jsonl([
        { problem: 'What is 9 - 2?', meta: { gt: 7 }, alt: 'Nine minus two?', part: 'test' },
        { problem: 'What is 5 + 5?', meta: { gt: 10 }, alt: '', part: 'train' },
      ]),
    )
    await expect(importDataset(db, { path: file })).rejects.toThrow(
      /odd\.jsonl: the columns \(problem, meta, alt, part\) match no known schema.*--map question=COL/,
    )
    const map = parseColumnMap('question=problem, answer=meta.gt, paraphrase=alt, split=part')
    const result = await importDataset(db, { path: file, map, paraphraseStatus: 'pending' })
    expect(result).toMatchObject({ schema: 'mapped', records: 2, paraphrases: 1, withAnswer: 2 })
    expect(datasetRecords(db, result.id).map((r) => [r.question, r.answer, r.split])).toEqual([
      ['What is 9 - 2?', '7', 'test'],
      ['What is 5 + 5?', '10', 'train'],
    ])
    expect(paraphrasesOf(db, result.id)).toEqual([{ text: 'Nine minus two?', status: 'pending', origin: 'imported' }])
  })

  it('rejects a malformed column map with a usage hint', () => {
    expect(() => parseColumnMap('answer=x')).toThrow(/question=COLUMN is required/)
    expect(() => parseColumnMap('question=x,label=y')).toThrow(/unknown field "label"/)
    expect(() => parseColumnMap('question')).toThrow(/is not FIELD=COLUMN/)
  })

  it('exports and re-imports JSONL, pairs and verl-pair to identical records', async () => {
    const { db } = openStore()
    const dir = freshDir()
    const original = writeVerl(join(dir, 'toy_original.parquet'), verlRows)
    const rewrite = writeVerl(
      join(dir, 'toy_rewrite.parquet'),
      verlRows.map((r) => ({ ...r, q: `Say it again: ${r.q}` })),
    )
    const first = await importDataset(db, { path: original, rewrite })
    const snapshot = (id: number): unknown =>
      db
        .prepare(
          `SELECT r.question, r.answer, r.split, r.source, r.flags,
                  (SELECT json_group_array(p.text) FROM paraphrases p WHERE p.record_id = r.id) AS paraphrases
           FROM records r WHERE r.dataset_id = ? ORDER BY r.position`,
        )
        .all(id)
    for (const format of ['jsonl', 'verl-pair'] as const) {
      const out = join(dir, format)
      const exported = exportDataset(db, 'toy', { format, out })
      const again = await importDataset(db, { path: exported.files[0]!, rewrite: exported.files[1], name: `again-${format}` })
      expect(snapshot(again.id), format).toEqual(snapshot(first.id))
    }
    const pairs = exportDataset(db, 'toy', { format: 'pairs', out: join(dir, 'pairs') })
    const fromPairs = await importDataset(db, { path: pairs.files[0]!, name: 'again-pairs' })
    expect(datasetRecords(db, fromPairs.id).map((r) => [r.question, r.answer])).toEqual(
      datasetRecords(db, first.id).map((r) => [r.question, r.answer]),
    )
    expect(paraphrasesOf(db, fromPairs.id)).toEqual(paraphrasesOf(db, first.id))
  })

  it('leaves rejected paraphrases out of exports, and pending ones out with acceptedOnly', async () => {
    const { db } = openStore()
    const file = fixture(
      'mixed.jsonl',
      jsonl([
        {
          question: 'Q1?',
          answer: '1',
          paraphrases: [
            { text: 'P1 rejected', status: 'rejected' },
            { text: 'P1 ok', status: 'accepted' },
          ],
        },
        { question: 'Q2?', answer: '2', paraphrases: [{ text: 'P2 pending', status: 'pending' }] },
      ]),
    )
    await importDataset(db, { path: file })
    const out = freshDir()
    const all = exportDataset(db, 'mixed', { format: 'jsonl', out })
    const lines = readFileSync(all.files[0]!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { paraphrases: { text: string }[] })
    expect(lines.map((l) => l.paraphrases.map((p) => p.text))).toEqual([['P1 ok'], ['P2 pending']])
    const accepted = exportDataset(db, 'mixed', { format: 'verl-pair', out, acceptedOnly: true })
    expect(accepted).toMatchObject({ rows: 1, withoutParaphrase: 1 })
  })
})

describe('malformed input is refused, naming the file, row and field, and nothing is stored', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['empty.jsonl', '', /empty\.jsonl: the file is empty/],
    ['blank.jsonl', '\n\n  \n', /blank\.jsonl: no rows/],
    [
      'bad.jsonl',
      '{"question": "ok", "answer": "1"}\n{"question": "broken"\n',
      /bad\.jsonl: data row 2 \(file line 2\): not valid JSON/,
    ],
    ['array.jsonl', '[1, 2]\n', /array\.jsonl: data row 1 \(file line 1\): expected one JSON object per line, got an array/],
    [
      'types.jsonl',
      '{"question": "ok", "answer": "1"}\n{"question": {"text": "x"}, "answer": "2"}\n',
      /types\.jsonl: data row 2 \(file line 2\): field "question" should be text, got object/,
    ],
    [
      'noquestion.jsonl',
      '{"question": "ok", "answer": "1"}\n{"answer": "2"}\n',
      /noquestion\.jsonl: data row 2 \(file line 2\): field "question" is missing/,
    ],
    [
      'latin1.csv',
      Buffer.concat([Buffer.from('question,answer\nCaf'), Buffer.from([0xe9]), Buffer.from(' costs?,3\n')]),
      /latin1\.csv: not UTF-8 text/,
    ],
    ['ragged.csv', 'question,answer\nWhat?,1,extra\n', /ragged\.csv: data row 1 \(file line 2\): not valid CSV/],
    ['truncated.parquet', Buffer.from('PAR1 this is not really parquet'), /truncated\.parquet: not a readable Parquet file/],
    ['notes.txt', 'question,answer\n', /notes\.txt: cannot tell the file type from its extension/],
  ]
  for (const [name, content, message] of cases) {
    it(name, async () => {
      const { db } = openStore()
      await importDataset(db, { path: fixture('keep.jsonl', jsonl([{ question: 'Kept?', answer: '1' }])) })
      await expect(importDataset(db, { path: fixture(name, content) })).rejects.toThrow(message)
      expect([datasetCount(db), recordCount(db)]).toEqual([1, 1])
    })
  }

  it('a Parquet file cut short is refused', async () => {
    const { db } = openStore()
    const whole = readFileSync(writeVerl(join(freshDir(), 'whole.parquet'), verlRows))
    await expect(importDataset(db, { path: fixture('cut.parquet', whole.subarray(0, whole.length - 40)) })).rejects.toThrow(
      /cut\.parquet: not a readable Parquet file/,
    )
  })

  it('a missing verl column is named with the columns the file has', async () => {
    const { db } = openStore()
    await expect(importDataset(db, { path: fixture('q.jsonl', jsonl([{ question: 'x' }])), format: 'verl' })).rejects.toThrow(
      /q\.jsonl: the verl format needs column prompt, but the file has question/,
    )
  })

  it('a taken dataset name is refused with a free one suggested', async () => {
    const { db } = openStore()
    const file = fixture('same.jsonl', jsonl([{ question: 'Q?', answer: '1' }]))
    await importDataset(db, { path: file })
    await expect(importDataset(db, { path: file })).rejects.toThrow(
      /"same" already exists; choose another name, e.g. "same \(2\)"/,
    )
  })

  it('a 1 MB line is read whole', async () => {
    const { db } = openStore()
    const long = 'x'.repeat(1 << 20)
    const result = await importDataset(db, { path: fixture('long.jsonl', jsonl([{ question: long, answer: '1' }])) })
    expect(datasetRecords(db, result.id)[0]!.question).toHaveLength(1 << 20)
  })

  it('a cancelled import stores nothing', async () => {
    const { db } = openStore()
    const controller = new AbortController()
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ question: `Question ${i}?`, answer: String(i) }))
    const file = fixture('big.jsonl', jsonl(rows))
    const importing = importDataset(db, {
      path: file,
      signal: controller.signal,
      onStage: (stage, fraction) => stage === 'reading' && fraction > 0 && controller.abort(),
    })
    await expect(importing).rejects.toThrow(/Import cancelled; nothing was stored/)
    expect(datasetCount(db)).toBe(0)
  })
})

describe('the format registry', () => {
  it('has one row format per schema the contract names, and a writer per export format', () => {
    expect(ROW_FORMATS.map((f) => f.name).sort()).toEqual([...IMPORT_SCHEMAS].sort())
    expect(Object.keys(WRITERS).sort()).toEqual([...EXPORT_FORMATS].sort())
  })

  it('refuses a table no format recognises, naming the columns it has and the schemas it knows', () => {
    const table = { file: 'odd.csv', container: 'csv' as const, columns: ['problem', 'solution'], rows: [] }
    expect(() => rowFormatOf(table, 'auto')).toThrow(
      'odd.csv: the columns (problem, solution) match no known schema (verl, pairs, gsm8k, question/answer); ' +
        'name them with --map question=COL,answer=COL[,paraphrase=COL][,split=COL].',
    )
  })
})
