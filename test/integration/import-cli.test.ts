// `cwb import`, `cwb datasets` and `cwb export` as other tools call them, on the released Co-rewarding data.
import Database from 'better-sqlite3'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cwb } from '../helpers/cli'
import { hasSharedData, needsSharedData, sharedData } from '../helpers/shared-data'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? ''
const json = (text: string): Record<string, unknown> => JSON.parse(lastLine(text)) as Record<string, unknown>

function records(workspace: string, dataset: number): unknown[] {
  const db = new Database(join(workspace, 'workbench.db'), { readonly: true })
  try {
    return db
      .prepare(
        `SELECT r.question, r.answer, r.split, r.source, r.flags,
                (SELECT json_group_array(json_object('text', p.text, 'status', p.status)) FROM paraphrases p WHERE p.record_id = r.id) AS paraphrases
         FROM records r WHERE r.dataset_id = ? ORDER BY r.position`,
      )
      .all(dataset)
  } finally {
    db.close()
  }
}

describe('cwb import, datasets and export', () => {
  it('prints {"dataset", "records", "paraphrases", "with_answer"} as the last line with --json', () => {
    const workspace = freshDir()
    const file = join(freshDir(), 'gsm.jsonl')
    writeFileSync(
      file,
      [
        { question: 'Ann has 2 pens and buys 3. How many?', answer: '2 + 3 = 5\n#### 5' },
        { question: 'Bob has 9 cups and breaks 4. How many?', answer: '9 - 4 = 5\n#### 5' },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    )
    const result = cwb(['import', file, '--workspace', workspace, '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(json(result.stdout)).toEqual({ dataset: 1, records: 2, paraphrases: 0, with_answer: 2 })
    expect(result.stderr).toContain('Imported "gsm" (gsm8k)')
    const listed = cwb(['datasets', '--workspace', workspace, '--json'])
    expect(json(listed.stdout).datasets).toEqual([expect.objectContaining({ id: 1, name: 'gsm', records: 2, withAnswer: 2 })])
    const again = cwb(['import', file, '--workspace', workspace])
    expect(again.code).toBe(1)
    expect(again.stderr.trim().split('\n').at(-1)).toMatch(/^cwb: error: A dataset named "gsm" already exists; .*"gsm \(2\)"/)
  })

  it('refuses a bad --format or --map as a usage error (exit 2)', () => {
    const workspace = freshDir()
    expect(cwb(['import', 'x.jsonl', '--format', 'xml', '--workspace', workspace]).code).toBe(2)
    const badMap = cwb(['import', 'x.jsonl', '--map', 'answer=a', '--workspace', workspace])
    expect(badMap.code).toBe(2)
    expect(badMap.stderr).toContain('question=COLUMN is required')
    expect(cwb(['export', 'x', '--out', workspace, '--workspace', workspace]).code).toBe(2) // --format is required
  })

  it.skipIf(!hasSharedData)(needsSharedData('round-trips the released MATH pairs through export and import'), () => {
    const workspace = freshDir()
    const out = freshDir()
    const pairs = join(sharedData, 'co-rewarding', 'math', 'train_pairs.parquet')
    const first = cwb(['import', pairs, '--workspace', workspace, '--json'])
    expect(first.code, first.stderr).toBe(0)
    expect(json(first.stdout)).toEqual({ dataset: 1, records: 7500, paraphrases: 7500, with_answer: 7498 })
    const exported = cwb(['export', 'train_pairs', '--format', 'pairs', '--out', out, '--workspace', workspace, '--json'])
    expect(exported.code, exported.stderr).toBe(0)
    const file = (json(exported.stdout).files as string[])[0]!
    const second = cwb(['import', file, '--name', 'again', '--workspace', workspace, '--json'])
    expect(json(second.stdout)).toMatchObject({ dataset: 2, records: 7500 })
    expect(records(workspace, 2)).toEqual(records(workspace, 1))
  })

  it.skipIf(!hasSharedData)(needsSharedData('imports the released AMC original + rewrite files as one paired dataset'), () => {
    const workspace = freshDir()
    const amc = join(sharedData, 'co-rewarding', 'amc')
    const result = cwb([
      'import',
      join(amc, 'test_original.parquet'),
      join(amc, 'test_rewrite_Qwen3-32B.parquet'),
      '--name',
      'amc',
      '--workspace',
      workspace,
      '--json',
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(json(result.stdout)).toEqual({ dataset: 1, records: 83, paraphrases: 83, with_answer: 83 })
    const [first] = records(workspace, 1) as { question: string; paraphrases: string }[]
    expect(first!.question).toContain('Irreducible fraction value')
    expect(JSON.parse(first!.paraphrases)[0].text).toContain('simplified fraction form')
  })
})
