// The Datasets view's API through the host's dispatch (the boundary both transports use), on a real store with
// fixtures the test writes: the import dialog, pages with filters and search, pair edits with undo, bulk review,
// rename, audit split, export and delete.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parquetWriteFile } from 'hyparquet-writer'
import { describe, expect, it } from 'vitest'
import type { Params } from '../../preload/contract'
import { createDataset } from '../../main/data/datasets'
import type { NewRecord } from '../../main/store/datasets'
import { createRun } from '../../main/store/runs'
import type { Store } from '../../main/store/store'
import { collectEvents, hostOnWorkspace } from '../helpers/host'
import { cleanupsAfterEach } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()

function setUp() {
  const workbench = hostOnWorkspace(cleanups)
  const progress = collectEvents(workbench.host, 'job.progress')
  const file = (name: string, content: string): string => {
    writeFileSync(join(workbench.dir, name), content)
    return join(workbench.dir, name)
  }
  return { ...workbench, progress, file }
}

const jsonl = (rows: object[]): string => rows.map((row) => JSON.stringify(row)).join('\n') + '\n'

function writePairs(file: string, rows: { original: string; rephrased: string; solution: string }[]): string {
  const text = (name: string) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' })
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'original_question', data: rows.map((r) => r.original) },
      { name: 'rephrased_question', data: rows.map((r) => r.rephrased) },
      { name: 'solution', data: rows.map((r) => r.solution) },
    ],
    schema: [{ name: 'root', num_children: 3 }, text('original_question'), text('rephrased_question'), text('solution')] as never,
  })
  return file
}

/** A small dataset for the editor: mixed statuses, origins, failed checks, a duplicate and a missing answer. */
const RECORDS: NewRecord[] = [
  {
    question: 'Anna has 12 apples and buys 5 more. How many apples does she have?',
    answer: '17',
    paraphrases: [
      { text: 'Tom owns 12 pears and gets 5 more. How many pears does he own now?', origin: 'imported', status: 'pending' },
      { text: 'Tom owns 12 pears and gets 6 more, 17 in all. How many?', origin: 'llm', status: 'pending' },
    ],
  },
  {
    question: 'A train travels 60 miles in 2 hours. What is its speed?',
    answer: '30',
    split: 'test',
    paraphrases: [{ text: 'A bus covers 60 miles in 2 hours. How fast does it go?', origin: 'imported', status: 'accepted' }],
  },
  { question: 'What is $x$ if $x + 3 = 7$?', answer: '4', paraphrases: [] },
  {
    question: 'Anna has 12 apples and buys 5 more. How many apples does she have?',
    answer: '',
    flags: ['duplicate', 'no-answer'],
    paraphrases: [{ text: 'Crème brûlée costs 12 euros; 5 more are bought. How many?', origin: 'template', status: 'rejected' }],
  },
]

function editorDataset(store: Store): number {
  return createDataset(store.db, { name: 'editor', records: RECORDS.map((r) => structuredClone(r)) }).id
}

/** Polls until `condition` holds (a background job's first event). */
async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('the import dialog', () => {
  it('previews a file: its columns, the recognised schema, the first rows, the row count and a free name', async () => {
    const { store, call, file } = setUp()
    createDataset(store.db, { name: 'grade', records: [{ question: 'q' }] })
    const gsm8k = file(
      'grade.jsonl',
      jsonl(
        Array.from({ length: 30 }, (_, i) => ({ question: `What is ${i} + 1?`, answer: `${i} + 1 = ${i + 1}\n#### ${i + 1}` })),
      ),
    )
    const preview = await call('datasets.previewImport', { path: gsm8k })
    expect(preview).toMatchObject({ container: 'jsonl', columns: ['question', 'answer'], schema: 'gsm8k', rows: 30 })
    expect(preview.sample).toHaveLength(20)
    expect(preview.sample[0]).toEqual({ question: 'What is 0 + 1?', answer: '0 + 1 = 1\n#### 1' })
    expect(preview.suggestedName).toBe('grade (2)')

    const unknown = file('unknown.csv', 'problem,result\nWhat is 1 + 1?,2\n')
    expect(await call('datasets.previewImport', { path: unknown })).toMatchObject({
      container: 'csv',
      columns: ['problem', 'result'],
      schema: null,
      rows: 1,
      suggestedName: 'unknown',
    })
  })

  it('says what is wrong with a file it cannot read', async () => {
    const { refuse, file } = setUp()
    expect(await refuse('datasets.previewImport', { path: file('empty.jsonl', '') })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/empty\.jsonl: the file is empty/),
    })
  })

  it('imports in the background with progress events and answers with the counts once stored', async () => {
    const { dir, call, progress } = setUp()
    const pairs = writePairs(join(dir, 'train_pairs.parquet'), [
      { original: 'What is 2 + 3?', rephrased: 'Add 2 and 3.', solution: '5' },
      { original: 'What is 7 - 4?', rephrased: 'Take 4 from 7.', solution: '3' },
      { original: 'What is 9 - 9?', rephrased: 'Nine minus nine is 0, right?', solution: '0' },
    ])
    const result = await call('datasets.import', { path: pairs, job: 'import-1', paraphraseStatus: 'pending' })
    expect(result).toMatchObject({ name: 'train_pairs', records: 3, paraphrases: 3, withAnswer: 3 })
    const stages = progress.filter((p) => p.job === 'import-1').map((p) => p.stage)
    expect(stages[0]).toBe('reading')
    expect(stages).toContain('checking')
    expect(stages.at(-1)).toBe('stored')
    expect(progress.every((p) => p.kind === 'import' && p.done <= p.total)).toBe(true)

    const detail = await call('datasets.get', { dataset: result.dataset })
    expect(detail).toMatchObject({
      name: 'train_pairs',
      records: 3,
      paraphrases: 3,
      byStatus: { pending: 3, accepted: 0, rejected: 0 },
      // "Nine minus nine" keeps the nines in words; its 0 gives the answer away.
      byFailedCheck: { numbers: 0, answer_leak: 1, too_similar: 0 },
      bySeverity: { error: 1 },
    })
  })

  it('stores nothing of a cancelled import, and refuses a second job with the id of a running one', async () => {
    const { store, host, call, refuse, file, progress } = setUp()
    const big = file(
      'big.jsonl',
      jsonl(Array.from({ length: 200_000 }, (_, i) => ({ question: `Question ${i}?`, answer: `${i}` }))),
    )
    const importing = host.dispatch('datasets.import', { path: big, job: 'slow' })
    await waitFor(() => progress.some((p) => p.job === 'slow'))
    expect(await refuse('datasets.import', { path: big, job: 'slow' })).toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/already running/),
    })
    expect(await call('jobs.cancel', { job: 'slow' })).toEqual({ cancelled: true })
    expect(await importing).toEqual({ ok: false, error: { code: 'conflict', message: 'Import cancelled; nothing was stored.' } })
    expect(store.listDatasets()).toEqual([])
    expect(await call('jobs.cancel', { job: 'slow' })).toEqual({ cancelled: false })
  })

  it('refuses a taken name with a suggestion, and a malformed file naming the row and field, storing nothing', async () => {
    const { store, refuse, file } = setUp()
    createDataset(store.db, { name: 'taken', records: [{ question: 'q' }] })
    const good = file('good.jsonl', jsonl([{ question: 'What is 1 + 1?', answer: '2' }]))
    expect(await refuse('datasets.import', { path: good, name: 'taken', job: 'j1' })).toEqual({
      code: 'conflict',
      message: 'A dataset named "taken" already exists; choose another name, e.g. "taken (2)".',
    })
    const bad = file('bad.jsonl', jsonl([{ question: 'What is 1 + 1?', answer: '2' }, { question: ['not', 'text'] }]))
    expect(await refuse('datasets.import', { path: bad, job: 'j2' })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/bad\.jsonl: data row 2 \(file line 2\): field "question" should be text/),
    })
    expect(store.listDatasets().map((d) => d.name)).toEqual(['taken'])
    // The failed import's pause of the search index went with its transaction.
    expect(store.db.prepare('SELECT COUNT(*) FROM search_index_paused').pluck().get()).toBe(0)
  })
})

describe('the pair editor', () => {
  it('pages records in order with all their paraphrases and the failed checks of each', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const page = await call('datasets.records', { dataset, offset: 1, limit: 2 })
    expect(page.total).toBe(4)
    expect(page.rows.map((r) => [r.position, r.split, r.paraphrases.length])).toEqual([
      [1, 'test', 1],
      [2, 'train', 0],
    ])
    const first = (await call('datasets.records', { dataset, limit: 1 })).rows[0]!
    expect(first.paraphrases.map((p) => [p.origin, p.status, p.failed])).toEqual([
      ['imported', 'pending', []],
      ['llm', 'pending', ['numbers', 'answer_leak', 'new_numbers']],
    ])
    expect(first.paraphrases[1]!.checks).toMatchObject({
      numbers: { missing: ['5'] },
      new_numbers: { added: ['6'] },
      answer_leak: { leaked: '17' },
    })
    expect(first.paraphrases[1]!.findings.map((f) => [f.check, f.severity])).toEqual([
      ['numbers', 'error'],
      ['new_numbers', 'error'],
      ['answer_leak', 'error'],
    ])
  })

  it('filters by status, failed check, origin, duplicate, missing answer and split', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const positions = async (filter: Params<'datasets.records'>['filter']): Promise<number[]> =>
      (await call('datasets.records', { dataset, filter })).rows.map((r) => r.position)
    expect(await positions({ status: 'pending' })).toEqual([0])
    expect(await positions({ status: 'accepted' })).toEqual([1])
    expect(await positions({ status: 'none' })).toEqual([2])
    expect(await positions({ failedCheck: 'answer_leak' })).toEqual([0])
    expect(await positions({ failedCheck: 'numbers', origin: 'imported' })).toEqual([])
    // By severity, alone or with a check: only record 0's llm paraphrase has errors (a changed number, the answer).
    expect(await positions({ severity: 'error' })).toEqual([0])
    expect(await positions({ severity: 'error', failedCheck: 'answer_leak' })).toEqual([0])
    expect(await positions({ severity: 'error', failedCheck: 'negation' })).toEqual([])
    expect(await positions({ severity: 'warning', failedCheck: 'numbers' })).toEqual([])
    expect(await positions({ severity: 'error', origin: 'imported' })).toEqual([])
    expect(await positions({ origin: 'template' })).toEqual([3])
    expect(await positions({ duplicate: true })).toEqual([3])
    expect(await positions({ duplicate: false, noAnswer: false })).toEqual([0, 1, 2])
    expect(await positions({ noAnswer: true })).toEqual([3])
    expect(await positions({ split: 'test' })).toEqual([1])
    // The conditions on paraphrases hold for one paraphrase together: record 0's pending ones are not templates.
    expect(await positions({ status: 'rejected', origin: 'template' })).toEqual([3])
    expect(await positions({ status: 'pending', origin: 'template' })).toEqual([])
  })

  it('searches questions, answers and paraphrases with the words quoted, prefixes and accents included', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const search = async (text: string): Promise<number[]> =>
      (await call('datasets.records', { dataset, filter: { search: text } })).rows.map((r) => r.position)
    expect(await search('apples')).toEqual([0, 3])
    expect(await search('pears 12')).toEqual([0])
    expect(await search('spee')).toEqual([1])
    expect(await search('creme brulee')).toEqual([3])
    expect(await search('30')).toEqual([1])
    // FTS5 syntax in the user's text is just text.
    expect(await search('"apples" OR NEAR(train')).toEqual([])
    expect(await search('apples NOT')).toEqual([])
    expect(await search('bus -miles')).toEqual([1])
    // Only symbols: looked for as they are.
    expect(await search('$')).toEqual([2])
  })

  it('edits a paraphrase with its checks, finds it by its new words, and undoes the step exactly', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const before = (await call('datasets.records', { dataset, limit: 1 })).rows[0]!.paraphrases[1]!
    const edited = await call('paraphrases.update', {
      paraphrase: before.id,
      text: 'Tom owns 12 kiwis and gets 5 more. How many kiwis?',
      status: 'accepted',
    })
    expect(edited).toMatchObject({ status: 'accepted', failed: [] })
    expect((await call('datasets.records', { dataset, filter: { search: 'kiwis' } })).total).toBe(1)
    expect((await call('datasets.records', { dataset, filter: { failedCheck: 'answer_leak' } })).total).toBe(0)

    const first = (await call('datasets.records', { dataset, limit: 1 })).rows[0]!
    expect(await call('edits.undo', { dataset })).toEqual({
      undone: 'the text and status edit of a paraphrase of record 1',
      records: [{ id: first.id, position: 0 }],
    })
    const after = (await call('datasets.records', { dataset, limit: 1 })).rows[0]!.paraphrases[1]!
    expect({ ...after, updatedAt: '' }).toEqual({ ...before, updatedAt: '' })
    expect((await call('datasets.records', { dataset, filter: { search: 'kiwis' } })).total).toBe(0)
    expect(await call('edits.undo', { dataset })).toEqual({ undone: null, records: [] })
  })

  it('adds a paraphrase the user wrote, accepted, and one undo removes it', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const record = (await call('datasets.records', { dataset, filter: { status: 'none' } })).rows[0]!
    const added = await call('paraphrases.add', { record: record.id, text: 'Find $x$ when $x + 3 = 7$.' })
    expect(added).toMatchObject({ origin: 'manual', status: 'accepted', failed: [] })
    expect((await call('datasets.records', { dataset, filter: { status: 'none' } })).total).toBe(0)
    expect((await call('datasets.records', { dataset, filter: { search: 'find' } })).rows.map((r) => r.id)).toEqual([record.id])
    expect(added.id).toBeGreaterThan(0)
    expect(await call('edits.undo', { dataset })).toEqual({
      undone: 'the paraphrase added to record 3',
      records: [{ id: record.id, position: 2 }],
    })
    expect((await call('datasets.records', { dataset, filter: { status: 'none' } })).total).toBe(1)
    expect((await call('datasets.records', { dataset, filter: { search: 'Find' } })).total).toBe(0)
  })

  it('rejects by severity: only the paraphrases with such a finding, not their records’ others', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const first = (await call('datasets.records', { dataset, limit: 1 })).rows[0]!
    expect(await call('paraphrases.bulkStatus', { dataset, filter: { severity: 'error' }, status: 'rejected' })).toEqual({
      changed: 1,
      from: { pending: 1, accepted: 0, rejected: 0 },
    })
    const after = (await call('datasets.records', { dataset, limit: 1 })).rows[0]!
    expect(after.paraphrases.map((p) => [p.origin, p.status])).toEqual([
      ['imported', 'pending'],
      ['llm', 'rejected'],
    ])
    expect(first.paraphrases.map((p) => p.status)).toEqual(['pending', 'pending'])
    // Reviewed ones are left alone unless asked: a second pass changes nothing.
    expect(await call('paraphrases.bulkStatus', { dataset, filter: { severity: 'error' }, status: 'accepted' })).toEqual({
      changed: 0,
      from: { pending: 0, accepted: 0, rejected: 0 },
    })
  })

  it('sets the status of a filter’s pending paraphrases in one step that one undo reverts', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const statuses = async (): Promise<string[]> =>
      (await call('datasets.records', { dataset })).rows.flatMap((r) => r.paraphrases.map((p) => p.status))
    const start = await statuses()
    expect(start).toEqual(['pending', 'pending', 'accepted', 'rejected'])
    expect(await call('paraphrases.bulkStatus', { dataset, filter: {}, status: 'accepted' })).toMatchObject({ changed: 2 })
    expect(await statuses()).toEqual(['accepted', 'accepted', 'accepted', 'rejected'])
    expect(
      await call('paraphrases.bulkStatus', { dataset, filter: { origin: 'imported' }, status: 'rejected', onlyPending: false }),
    ).toEqual({ changed: 2, from: { pending: 0, accepted: 2, rejected: 0 } })
    expect(await statuses()).toEqual(['rejected', 'accepted', 'rejected', 'rejected'])

    const history = await call('edits.list', { dataset })
    expect(history.map((e) => [e.field, e.before, e.after, e.recordPosition])).toEqual([
      ['status', 'accepted', 'rejected', 1],
      ['status', 'accepted', 'rejected', 0],
      ['status', 'pending', 'accepted', 0],
      ['status', 'pending', 'accepted', 0],
    ])
    expect(new Set(history.slice(0, 2).map((e) => e.step)).size).toBe(1)
    expect(history[0]!.step).toBeGreaterThan(history[3]!.step)

    const [one, two] = (await call('datasets.records', { dataset, limit: 2 })).rows
    expect(await call('edits.undo', { dataset })).toEqual({
      undone: 'the status change of 2 paraphrases of records 1 and 2',
      records: [
        { id: one!.id, position: 0 },
        { id: two!.id, position: 1 },
      ],
    })
    expect(await statuses()).toEqual(['accepted', 'accepted', 'accepted', 'rejected'])
    await call('edits.undo', { dataset })
    expect(await statuses()).toEqual(start)
    expect(await call('edits.list', { dataset })).toEqual([])
  })

  it('counts a bulk change first, and changes reviewed paraphrases too when asked, saying what each was', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const statuses = async (): Promise<string[]> =>
      (await call('datasets.records', { dataset })).rows.flatMap((r) => r.paraphrases.map((p) => p.status))
    const start = await statuses()
    // A dry run counts what each choice would change, by the status each paraphrase has now, and changes nothing.
    const dry = { dataset, filter: {}, status: 'rejected', dryRun: true } as const
    expect(await call('paraphrases.bulkStatus', { ...dry, onlyPending: false })).toEqual({
      changed: 3,
      from: { pending: 2, accepted: 1, rejected: 0 },
    })
    expect(await call('paraphrases.bulkStatus', dry)).toEqual({ changed: 2, from: { pending: 2, accepted: 0, rejected: 0 } })
    expect(await statuses()).toEqual(start)
    expect(await call('edits.list', { dataset })).toEqual([])

    // With reviewed ones: the accepted import is rejected too, in one step that one undo reverts.
    expect(await call('paraphrases.bulkStatus', { dataset, filter: {}, status: 'rejected', onlyPending: false })).toEqual({
      changed: 3,
      from: { pending: 2, accepted: 1, rejected: 0 },
    })
    expect(await statuses()).toEqual(['rejected', 'rejected', 'rejected', 'rejected'])
    expect((await call('edits.undo', { dataset })).undone).toBe('the status change of 3 paraphrases of records 1 and 2')
    expect(await statuses()).toEqual(start)
  })

  it('locates a record by its number under a filter: its index there, or none where the filter hides it', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const ids = (await call('datasets.records', { dataset })).rows.map((r) => r.id)
    expect(await call('datasets.locate', { dataset, position: 3 })).toEqual({ record: { id: ids[3], position: 3 }, index: 3 })
    // Records with a rejected paraphrase: only record 4, first in that list.
    expect(await call('datasets.locate', { dataset, filter: { status: 'rejected' }, position: 3 })).toEqual({
      record: { id: ids[3], position: 3 },
      index: 0,
    })
    expect(await call('datasets.locate', { dataset, filter: { status: 'rejected' }, position: 1 })).toEqual({
      record: { id: ids[1], position: 1 },
      index: null,
    })
    expect(await call('datasets.locate', { dataset, filter: { search: 'apples' }, position: 3 })).toMatchObject({ index: 1 })
    expect(await call('datasets.locate', { dataset, position: 40 })).toEqual({ record: null, index: null })
  })

  it('names each edit’s record by its number in the history, and an added paraphrase’s undo goes to its record', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    const rows = (await call('datasets.records', { dataset })).rows
    await call('paraphrases.update', { paraphrase: rows[3]!.paraphrases[0]!.id, status: 'accepted' })
    await call('paraphrases.add', { record: rows[2]!.id, text: 'Solve $x + 3 = 7$ for $x$.' })
    const history = await call('edits.list', { dataset })
    expect(history.map((e) => [e.field, e.record, e.recordPosition])).toEqual([
      ['created', rows[2]!.id, 2],
      ['status', rows[3]!.id, 3],
    ])
    expect(await call('edits.undo', { dataset })).toMatchObject({ records: [{ id: rows[2]!.id, position: 2 }] })
    expect(await call('edits.undo', { dataset })).toEqual({
      undone: 'the status edit of a paraphrase of record 4',
      records: [{ id: rows[3]!.id, position: 3 }],
    })
  })

  it('refuses an edit without a change and one of a paraphrase that does not exist', async () => {
    const { store, refuse } = setUp()
    editorDataset(store)
    expect(await refuse('paraphrases.update', { paraphrase: 1 })).toMatchObject({ code: 'invalid_request' })
    expect(await refuse('paraphrases.update', { paraphrase: 999, status: 'accepted' })).toMatchObject({ code: 'not_found' })
    expect(await refuse('paraphrases.add', { record: 999, text: 'x' })).toMatchObject({ code: 'not_found' })
  })
})

describe('dataset housekeeping', () => {
  it('renames (a taken name is refused with a suggestion) and marks a labelled split as the audit set', async () => {
    const { store, call, refuse } = setUp()
    const dataset = editorDataset(store)
    createDataset(store.db, { name: 'other', records: [{ question: 'q' }] })
    expect(await refuse('datasets.update', { dataset, name: 'other' })).toEqual({
      code: 'conflict',
      message: 'A dataset named "other" already exists; choose another name, e.g. "other (2)".',
    })
    const renamed = await call('datasets.update', { dataset, name: 'curated', description: 'four questions', auditSplit: 'test' })
    expect(renamed).toMatchObject({ name: 'curated', description: 'four questions', auditSplit: 'test' })
    expect(renamed.splits).toEqual([
      { split: 'test', records: 1, withAnswer: 1 },
      { split: 'train', records: 3, withAnswer: 2 },
    ])
    expect(await refuse('datasets.update', { dataset, auditSplit: 'validation' })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/auditSplit: dataset "curated" has no split "validation"; .* \("test", "train"\)/),
    })
    expect(await call('datasets.update', { dataset, auditSplit: null })).toMatchObject({ auditSplit: null })
  })

  it('exports into the workspace by default, and the export imports back to the same records', async () => {
    const { dir, store, call } = setUp()
    const dataset = editorDataset(store)
    const exported = await call('datasets.export', { dataset, format: 'jsonl' })
    expect(exported).toMatchObject({ rows: 4, withoutParaphrase: 0 })
    expect(exported.files[0]!.startsWith(join(dir, 'exports', 'editor-'))).toBe(true)
    const again = await call('datasets.import', { path: exported.files[0]!, name: 'again', job: 'reimport' })
    const questions = async (id: number) =>
      (await call('datasets.records', { dataset: id })).rows.map((r) => [r.question, r.answer, r.paraphrases.length])
    // Rejected paraphrases are never exported.
    expect(await questions(again.dataset)).toEqual([
      [RECORDS[0]!.question, '17', 2],
      [RECORDS[1]!.question, '30', 1],
      [RECORDS[2]!.question, '4', 0],
      [RECORDS[3]!.question, '', 0],
    ])
  })

  it('will not delete a dataset a queued run needs, and deletes one no run needs with all it holds', async () => {
    const { store, call, refuse } = setUp()
    const dataset = editorDataset(store)
    const run = createRun(store.db, { name: 'waiting', mode: 'majority_voting', config: {}, seed: 1, datasetId: dataset })
    expect(await refuse('datasets.delete', { dataset })).toEqual({
      code: 'conflict',
      message: `Dataset "editor" is used by run ${run} ("waiting", queued); stop that run or let it finish, then delete the dataset.`,
    })
    expect(await refuse('datasets.update', { dataset, name: 'renamed' })).toMatchObject({ code: 'conflict' })
    store.db.prepare(`UPDATE runs SET status = 'stopped' WHERE id = ?`).run(run)
    await call('paraphrases.bulkStatus', { dataset, filter: {}, status: 'accepted' })
    expect(await call('datasets.delete', { dataset })).toEqual({ dataset })
    const count = (sql: string): number => store.db.prepare(sql).pluck().get() as number
    expect([
      count('SELECT COUNT(*) FROM records'),
      count('SELECT COUNT(*) FROM paraphrases'),
      count('SELECT COUNT(*) FROM edits'),
    ]).toEqual([0, 0, 0])
    expect(count(`SELECT COUNT(*) FROM records_fts WHERE records_fts MATCH 'apples'`)).toBe(0)
    expect(count(`SELECT COUNT(*) FROM paraphrases_fts WHERE paraphrases_fts MATCH 'pears'`)).toBe(0)
    store.db.exec(`INSERT INTO records_fts (records_fts) VALUES ('integrity-check')`)
    expect(await refuse('datasets.get', { dataset })).toMatchObject({ code: 'not_found' })
  })

  it('checks the paraphrases stored before checks were, on first use', async () => {
    const { store, call } = setUp()
    const dataset = editorDataset(store)
    store.db.exec(`UPDATE paraphrases SET checks = '{"family":"x"}', failed_checks = NULL`)
    const detail = await call('datasets.get', { dataset })
    expect(detail.byFailedCheck).toMatchObject({ numbers: 1, answer_leak: 1, expressions: 0 })
    const row = store.db.prepare('SELECT checks FROM paraphrases WHERE id = 1').pluck().get() as string
    expect(JSON.parse(row)).toMatchObject({ family: 'x', failed: [] })
  })
})
