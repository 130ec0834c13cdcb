import { describe, expect, it } from 'vitest'
import { DEMO_TASK_DEFAULTS, generateDemoTask } from '../../main/data/demo'
import { createDataset } from '../../main/data/datasets'
import { DEMO_DATASET_NAME, ensureDemoDataset } from '../../main/data/demo/dataset'
import { Store } from '../../main/store/store'
import { freshStores } from '../helpers/stores'

const openStore = freshStores()

const count = (store: Store, table: 'datasets' | 'records' | 'paraphrases'): number =>
  (store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n

describe('the demo dataset in the run store', () => {
  it('is stored once, with its splits, answers, worked solutions and accepted template paraphrases', () => {
    const store = openStore()
    const id = ensureDemoDataset(store.db)
    expect(store.listDatasets()).toMatchObject([
      { id, name: DEMO_DATASET_NAME, records: 2500, withAnswer: 2500, paraphrases: 12500 },
    ])

    const splits = store.db
      .prepare('SELECT split, COUNT(*) AS n FROM records WHERE dataset_id = ? GROUP BY split ORDER BY split')
      .all(id)
    expect(splits).toEqual([
      { split: 'test', n: 300 },
      { split: 'train', n: 2000 },
      { split: 'validation', n: 200 },
    ])

    const first = generateDemoTask(DEMO_TASK_DEFAULTS).records[0]
    const stored = store.db
      .prepare('SELECT id, question, answer, split, source FROM records WHERE dataset_id = ? AND position = 0')
      .get(id) as {
      id: number
      question: string
      answer: string
      split: string
      source: string
    }
    expect(stored).toMatchObject({ question: first?.question, answer: first?.answer, split: 'train' })
    expect(JSON.parse(stored.source)).toEqual({
      type: first?.type,
      steps: first?.steps,
      family: first?.family,
      solution: first?.solution,
    })

    const paraphrases = store.db
      .prepare('SELECT text, origin, status, checks FROM paraphrases WHERE record_id = ? ORDER BY id')
      .all(stored.id)
    // Template paraphrases keep every number and never add the answer: they pass every check.
    expect(
      paraphrases.map((p) => ({ ...(p as { checks: string }), checks: JSON.parse((p as { checks: string }).checks) })),
    ).toMatchObject(
      first!.paraphrases.map((p) => ({
        text: p.text,
        origin: 'template',
        status: 'accepted',
        checks: { family: p.family, failed: [] },
      })),
    )
  })

  it('is not stored again: a second call, from this or another connection, returns the same dataset', () => {
    const store = openStore()
    const id = ensureDemoDataset(store.db, { train: 20, validation: 5, test: 5 })
    expect(ensureDemoDataset(store.db, { train: 20, validation: 5, test: 5 })).toBe(id)
    expect(ensureDemoDataset(openStore(store.file).db)).toBe(id)
    expect([count(store, 'datasets'), count(store, 'records'), count(store, 'paraphrases')]).toEqual([1, 30, 150])
  })
})

describe('creating a dataset', () => {
  it('stores records in order with their paraphrases and counts answers that are not blank', () => {
    const store = openStore()
    const created = createDataset(store.db, {
      name: 'math',
      description: 'five questions',
      records: [
        { question: 'What is 2 + 2?', answer: '4', paraphrases: [{ text: 'Add two and two.', origin: 'manual' }] },
        { question: 'What is 3 + 3?', answer: '   ' },
        { question: 'What is 4 + 4?', answer: null, split: 'test', flags: ['no-answer'] },
        { question: 'What is 5 + 5?' },
        {
          question: 'What is 6 + 6?',
          answer: ' 12 ',
          source: { row: 7 },
          paraphrases: [
            { text: 'Six and six make?', origin: 'llm', status: 'rejected', checks: { answerKept: false } },
            { text: 'Double five.', origin: 'imported', status: 'accepted' },
          ],
        },
      ],
    })
    expect(created).toEqual({ id: created.id, records: 5, paraphrases: 3, withAnswer: 2 })
    expect(store.listDatasets()).toMatchObject([{ name: 'math', records: 5, withAnswer: 2, paraphrases: 3 }])
    const records = store.db.prepare('SELECT position, answer, split, flags, source FROM records ORDER BY position').all()
    expect(records).toEqual([
      { position: 0, answer: '4', split: 'train', flags: '[]', source: '{}' },
      { position: 1, answer: '   ', split: 'train', flags: '[]', source: '{}' },
      { position: 2, answer: null, split: 'test', flags: '["no-answer"]', source: '{}' },
      { position: 3, answer: null, split: 'train', flags: '[]', source: '{}' },
      { position: 4, answer: ' 12 ', split: 'train', flags: '[]', source: '{"row":7}' },
    ])
    const statuses = (
      store.db.prepare('SELECT origin, status, checks FROM paraphrases ORDER BY id').all() as { checks: string }[]
    ).map((row) => ({ ...row, checks: JSON.parse(row.checks) as unknown }))
    // Each paraphrase is checked as it is stored, beside what it carried: numbers in words are kept, a changed one is not.
    expect(statuses).toMatchObject([
      { origin: 'manual', status: 'pending', checks: { failed: [], numbers: { missing: [] } } },
      { origin: 'llm', status: 'rejected', checks: { answerKept: false, failed: [] } },
      { origin: 'imported', status: 'accepted', checks: { failed: ['numbers', 'new_numbers'], numbers: { missing: ['6'] } } },
    ])
  })

  it('leaves nothing behind when a record fails part-way, naming the record, the paraphrase and the field', () => {
    const store = openStore()
    const records = [
      { question: 'What is 2 + 2?', answer: '4', paraphrases: [{ text: 'Two plus two?', origin: 'manual' as const }] },
      { question: 'What is 3 + 3?', answer: '6' },
      { question: 'What is 4 + 4?', answer: '8', paraphrases: [{ text: 'Four and four?', origin: 'robot' as 'manual' }] },
    ]
    expect(() => createDataset(store.db, { name: 'math', records })).toThrow(
      'Record 3, paraphrase 1: origin "robot" is not one of template, llm, manual, imported; use one of them.',
    )
    expect([count(store, 'datasets'), count(store, 'records'), count(store, 'paraphrases')]).toEqual([0, 0, 0])
    expect(() => createDataset(store.db, { name: 'math', records: [{ question: ' ' }] })).toThrow(
      'Record 1 has an empty question',
    )
    expect(createDataset(store.db, { name: 'math', records: records.slice(0, 2) })).toMatchObject({ records: 2, paraphrases: 1 })
  })

  it('refuses a taken name, naming it and suggesting a free one', () => {
    const store = openStore()
    createDataset(store.db, { name: 'math', records: [] })
    expect(() => createDataset(store.db, { name: 'math', records: [] })).toThrow(
      'A dataset named "math" already exists; choose another name, e.g. "math (2)".',
    )
    createDataset(store.db, { name: 'math (2)', records: [] })
    expect(() => createDataset(store.db, { name: ' math ', records: [] })).toThrow('e.g. "math (3)"')
    expect(count(store, 'datasets')).toBe(2)
  })
})
