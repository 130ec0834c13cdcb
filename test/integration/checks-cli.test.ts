// `cwb checks` as other tools call it: pairs written by `cwb export --format jsonl`, intact and broken, imported
// with `cwb import FILE --name NAME --json` into a real workspace, then checked; the last stdout line is the contract.
import Database from 'better-sqlite3'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkPair } from '../../main/data/paraphrase/checks'
import { CHECK_NAMES } from '../../preload/constants'
import { cwb, lastJson } from '../helpers/cli'
import { MUTATIONS, mutate, readReleasedPairs, seededSample } from '../helpers/mutations'
import { hasSharedData, needsSharedData } from '../helpers/shared-data'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()

interface ChecksJson {
  dataset: string
  pairs: number
  with_error: number
  with_warning: number
  by_check: Record<string, { error: number; warning: number; note: number }>
}

interface ExportedRow {
  question: string
  answer: string | null
  split: string
  paraphrases: { text: string; status: string }[]
  source: Record<string, unknown>
}

const jsonl = (rows: object[]): string => `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`

/** Imports rows as a JSONL file and returns the dataset's name. */
function importRows(workspace: string, rows: object[], name: string): string {
  const file = join(freshDir(), `${name}.jsonl`)
  writeFileSync(file, jsonl(rows))
  const result = cwb(['import', file, '--name', name, '--workspace', workspace, '--json'])
  expect(result.code, result.stderr).toBe(0)
  return name
}

/** `cwb checks NAME --json`, its exit code checked and its last line parsed. */
function checks(workspace: string, name: string): ChecksJson {
  const result = cwb(['checks', name, '--workspace', workspace, '--json'])
  expect(result.code, result.stderr).toBe(0)
  return lastJson<ChecksJson>(result.stdout)
}

/** Exports a dataset as JSONL through the CLI and reads the rows back. */
function exportRows(workspace: string, name: string): ExportedRow[] {
  const out = freshDir()
  const result = cwb(['export', name, '--format', 'jsonl', '--out', out, '--workspace', workspace, '--json'])
  expect(result.code, result.stderr).toBe(0)
  const file = lastJson<{ files: string[] }>(result.stdout).files[0]!
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ExportedRow)
}

const QUESTIONS = [
  {
    question: 'Anna has 12 apples and buys 5 more. How many apples does she have?',
    answer: '17',
    paraphrases: ['Tom owns 12 pears and gets five more. How many pears does he own now?'],
  },
  {
    question: 'If $9s+5t=108$ and $s$ is two less than $t$, what is $t$?',
    answer: '9',
    paraphrases: [
      'Shirts sell for $\\$$9 each and ties for 5 dollars. The total revenue is $\\$$108, and the number of shirts sold is two fewer than the number of ties. How many ties were sold?',
    ],
  },
  {
    question: 'Let $f(x) = 2x - 5$. For how many integers $x$ with $0 < x < 10$ is $f(x)$ positive?',
    answer: '7',
    paraphrases: ['Suppose $g(w) = 2w - 5$. Count the integers $w$ with $0 < w < 10$ for which $g(w)$ is positive.'],
  },
]

/** The broken copy of an exported row: its paraphrase changed by `breakIt`. */
const broken = (row: ExportedRow, breakIt: (text: string) => string): ExportedRow => ({
  ...row,
  paraphrases: row.paraphrases.map((p) => ({ ...p, text: breakIt(p.text) })),
})

// Each test runs the CLI several times (a process start each): room for a loaded machine.
describe('cwb checks', { timeout: 120_000 }, () => {
  it('prints the contract as the last line, for exported pairs imported again, intact and broken', () => {
    const workspace = freshDir()
    importRows(workspace, QUESTIONS, 'source')
    const exported = exportRows(workspace, 'source')
    expect(exported).toHaveLength(3)
    const intact = checks(workspace, importRows(workspace, exported, 'intact'))
    expect(intact).toEqual({
      dataset: 'intact',
      pairs: 3,
      with_error: 0,
      with_warning: expect.any(Number),
      by_check: Object.fromEntries(CHECK_NAMES.map((name) => [name, expect.anything()])),
    })
    expect(Object.keys(intact)).toEqual(['dataset', 'pairs', 'with_error', 'with_warning', 'by_check'])
    for (const counts of Object.values(intact.by_check)) expect(Object.keys(counts)).toEqual(['error', 'warning', 'note'])
    for (const name of CHECK_NAMES) expect(intact.by_check[name]!.error).toBe(0)

    const mutated = [
      broken(exported[0]!, (text) => text.replace('12 pears', '13 pears')), // a number changed
      broken(exported[1]!, (text) => text.replace(' and ties for 5 dollars', '')), // a clause with a number dropped
      broken(exported[2]!, (text) => text.replace('is positive', 'is not positive')), // a condition negated
      broken(exported[0]!, (text) => `${text} (The answer is 17.)`), // the answer inserted
    ]
    const result = checks(workspace, importRows(workspace, mutated, 'broken'))
    expect(result).toMatchObject({ dataset: 'broken', pairs: 4, with_error: 4 })
    expect(result.by_check.numbers!.error).toBe(2)
    expect(result.by_check.negation!.error).toBe(1)
    expect(result.by_check.answer_leak!.error).toBe(1)
  })

  it('stores the findings in place of the old ones, prints a summary without --json, and names a missing dataset', () => {
    const workspace = freshDir()
    importRows(workspace, QUESTIONS, 'pairs')
    // Findings from an older checker: a bogus error on every pair.
    const file = join(workspace, 'workbench.db')
    const before = new Database(file)
    before
      .prepare(
        `UPDATE paraphrases SET checks = '{"findings":[{"check":"negation","severity":"error","message":"old"}]}', failed_checks = 1`,
      )
      .run()
    before.close()
    const summary = cwb(['checks', 'pairs', '--workspace', workspace])
    expect(summary.code, summary.stderr).toBe(0)
    expect(summary.stdout).toContain('Dataset "pairs": 3 pairs, 0 with an error')
    expect(summary.stdout).toMatch(/CHECK\s+ERRORS\s+WARNINGS\s+NOTES/)
    const after = new Database(file, { readonly: true })
    try {
      const stored = after.prepare('SELECT checks, failed_checks AS mask FROM paraphrases ORDER BY id').all() as {
        checks: string
        mask: number
      }[]
      for (const row of stored) {
        const findings = (JSON.parse(row.checks) as { findings: { message: string }[] }).findings
        expect(findings.map((f) => f.message)).not.toContain('old')
      }
      expect(stored.every((row) => (row.mask & 1) === 0)).toBe(true)
    } finally {
      after.close()
    }
    const missing = cwb(['checks', 'nope', '--workspace', workspace, '--json'])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split('\n').at(-1)).toBe(
      'cwb: error: No dataset "nope" in this workspace; `cwb datasets` lists them.',
    )
  })

  it.skipIf(!hasSharedData)(
    needsSharedData('finds on 200 released pairs and their broken copies what the checks find in process'),
    async () => {
      const workspace = freshDir()
      const sample = seededSample(await readReleasedPairs(), 200, 5)
      const row = (question: string, answer: string, text: string): ExportedRow => ({
        question,
        answer,
        split: 'train',
        paraphrases: [{ text, status: 'accepted' }],
        source: {},
      })
      const intactRows = sample.map((pair) => row(pair.original, pair.answer, pair.paraphrase))
      const brokenRows = sample.flatMap((pair, i) => {
        const text = mutate(pair, MUTATIONS[i % MUTATIONS.length]!, 5)
        return text === null ? [] : [row(pair.original, pair.answer, text)]
      })
      const withError = (rows: ExportedRow[]): number =>
        rows.filter((r) => checkPair(r.question, r.paraphrases[0]!.text, r.answer).findings.some((f) => f.severity === 'error'))
          .length
      const intact = checks(workspace, importRows(workspace, intactRows, 'released-intact'))
      const brokenResult = checks(workspace, importRows(workspace, brokenRows, 'released-broken'))
      expect(intact).toMatchObject({ pairs: 200, with_error: withError(intactRows) })
      expect(brokenResult).toMatchObject({ pairs: brokenRows.length, with_error: withError(brokenRows) })
      console.log(
        `cwb checks on released pairs: intact ${intact.with_error}/${intact.pairs} with an error, broken ${brokenResult.with_error}/${brokenResult.pairs}`,
      )
    },
  )
})
