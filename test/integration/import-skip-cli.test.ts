// `cwb import --skip-bad-rows` as a user runs it on a CSV with one bad row, and what becomes of uploads whose import
// is abandoned: `uploads.discard` removes them, and the next `cwb serve` on the workspace removes any left over.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { callApi, cwb, lastJson, serve } from '../helpers/cli'
import { cleanupsAfterEach, freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()
const cleanups = cleanupsAfterEach()

// Data row 2 spans file lines 3-4; data row 3 (file line 5) has no question.
const CSV = 'question,answer\nWhat is 1 + 1?,2\n"Two lines:\nwhat is 2 + 2?",4\n,6\nWhat is 3 + 3?,6\n'

describe('cwb import --skip-bad-rows', () => {
  it('without it, the bad row fails the import, naming the file, data row, file line, field and the way out', () => {
    const workspace = freshDir()
    const file = join(freshDir(), 'quiz.csv')
    writeFileSync(file, CSV)
    const result = cwb(['import', file, '--workspace', workspace, '--json'])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      `cwb: error: ${file}: data row 3 (file line 5): field "question" is empty; every row needs a question. ` +
        'Fix it, or skip bad rows (`cwb import --skip-bad-rows`, or "Skip bad rows" in the import dialog) to import the other rows.',
    )
    expect(lastJson(cwb(['datasets', '--workspace', workspace, '--json']).stdout).datasets).toEqual([])
  })

  it('with it, stores the other rows, prints the skipped ones and lists them under "skipped" in --json', () => {
    const workspace = freshDir()
    const file = join(freshDir(), 'quiz.csv')
    writeFileSync(file, CSV)
    const result = cwb(['import', file, '--workspace', workspace, '--skip-bad-rows', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(lastJson(result.stdout)).toEqual({
      dataset: 1,
      records: 3,
      paraphrases: 0,
      with_answer: 3,
      skipped: [{ file, row: 3, line: 5, field: 'question', reason: 'is empty; every row needs a question.' }],
    })
    expect(result.stderr).toContain(
      `Skipped 1 bad row of ${file}:\n  data row 3 (file line 5): field "question" is empty; every row needs a question.\n`,
    )
    const plain = cwb(['import', file, '--name', 'again', '--workspace', workspace, '--skip-bad-rows'])
    expect(plain.stdout).toBe('Dataset 2 "again": 3 records (1 bad row skipped).\n')
    // A clean file with the option: the same keys, "skipped" empty.
    const clean = join(freshDir(), 'clean.jsonl')
    writeFileSync(clean, '{"question": "What is 5 + 5?", "answer": "10"}\n')
    expect(lastJson(cwb(['import', clean, '--workspace', workspace, '--skip-bad-rows', '--json']).stdout)).toEqual({
      dataset: 3,
      records: 1,
      paraphrases: 0,
      with_answer: 1,
      skipped: [],
    })
  })
})

describe('uploads of abandoned imports', () => {
  it('uploads.discard removes an upload, never another file; serve removes uploads left from before it started', async () => {
    const workspace = freshDir()
    const uploads = join(workspace, 'uploads')
    mkdirSync(uploads, { recursive: true })
    const left = join(uploads, '0123456789abcdef-left.csv')
    const other = join(uploads, 'notes.txt')
    writeFileSync(left, CSV)
    writeFileSync(other, 'not an upload')
    const served = await serve(['--workspace', workspace])
    cleanups.push(() => served.stop())
    expect(existsSync(left)).toBe(false)
    expect(existsSync(other)).toBe(true)
    expect(served.stderr()).toContain('Removed 1 upload left from imports that were never finished')

    const response = await fetch(`${served.base}api/upload?name=quiz.csv`, {
      method: 'POST',
      headers: { authorization: `Bearer ${served.token}` },
      body: CSV,
    })
    const { path } = ((await response.json()) as { result: { path: string } }).result
    expect(existsSync(path)).toBe(true)
    expect(await callApi(served, 'uploads.discard', { path: other })).toEqual({ removed: false })
    const outside = join(freshDir(), '0123456789abcdef-mine.csv')
    writeFileSync(outside, CSV)
    await expect(callApi(served, 'uploads.discard', { path: outside })).rejects.toThrow(
      /uploads\.discard: path: .* is outside the folders this workbench may use/,
    )
    expect(existsSync(outside)).toBe(true)
    expect(existsSync(other)).toBe(true)
    expect(await callApi(served, 'uploads.discard', { path })).toEqual({ removed: true })
    expect(existsSync(path)).toBe(false)
    expect(await callApi(served, 'uploads.discard', { path })).toEqual({ removed: false })
  })
})
