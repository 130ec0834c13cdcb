import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cwb } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'
import { sharedData } from '../helpers/shared-data'

const scoreExamples = join(sharedData, 'conformance', 'score_examples.jsonl')
const groupExamples = join(sharedData, 'conformance', 'group_examples.jsonl')
const missing = !existsSync(scoreExamples) || !existsSync(groupExamples)
const folder = freshDirs()

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Record<string, unknown>)

function writeInput(lines: string[]): string {
  const file = join(folder(), 'input.jsonl')
  writeFileSync(file, lines.map((line) => `${line}\n`).join(''))
  return file
}

/** Same keys in the same order, equal strings, numbers within 1e-12 (Python wrote 1.0 where JSON.stringify writes 1). */
function expectSameResult(actual: Record<string, unknown>, expected: Record<string, unknown>, what: string): void {
  expect(Object.keys(actual), what).toEqual(Object.keys(expected))
  for (const [key, value] of Object.entries(expected)) {
    const got = actual[key]
    if (!Array.isArray(value)) {
      expect(got, `${what} ${key}`).toBe(value)
      continue
    }
    expect(got, `${what} ${key}`).toHaveLength(value.length)
    value.forEach((item: unknown, i) => {
      const gotItem = (got as unknown[])[i]
      if (typeof item === 'number') expect(Math.abs((gotItem as number) - item), `${what} ${key}[${i}]`).toBeLessThan(1e-12)
      else expect(gotItem, `${what} ${key}[${i}]`).toBe(item)
    })
  }
}

describe.skipIf(missing)(
  `cwb score and cwb rewards on the conformance examples (reads ${sharedData}/conformance; skipped when absent)`,
  () => {
    it('cwb score prints the reference answer and an integer score for every example, from a file and from stdin', () => {
      const examples = jsonLines(readFileSync(scoreExamples, 'utf8'))
      const fromFile = cwb(['score', '--input', scoreExamples])
      const fromStdin = cwb(['score', '--input', '-'], {}, readFileSync(scoreExamples, 'utf8'))
      for (const result of [fromFile, fromStdin]) {
        expect(result.code, result.stderr).toBe(0)
        expect(result.stderr).toBe('')
        const lines = result.stdout.trimEnd().split('\n')
        expect(lines).toHaveLength(examples.length)
        lines.forEach((line, i) => {
          const { answer, score } = examples[i]!
          expect(line, `example ${i + 1}`).toBe(JSON.stringify({ answer, score }))
        })
      }
    })

    it('cwb rewards prints each group as the reference computed it, from a file and from stdin', () => {
      const examples = jsonLines(readFileSync(groupExamples, 'utf8'))
      const fromFile = cwb(['rewards', '--input', groupExamples])
      const fromStdin = cwb(['rewards', '--input', '-'], {}, readFileSync(groupExamples, 'utf8'))
      for (const result of [fromFile, fromStdin]) {
        expect(result.code, result.stderr).toBe(0)
        const outputs = jsonLines(result.stdout)
        expect(outputs).toHaveLength(examples.length)
        outputs.forEach((output, i) =>
          expectSameResult(output, examples[i]!.expected as Record<string, unknown>, `group ${i + 1}`),
        )
      }
    })
  },
)

describe('cwb score and cwb rewards on hand-made input', () => {
  it('skip blank lines and ignore unknown fields', () => {
    const file = writeInput([
      '',
      '{"response": "\\\\boxed{2}", "ground_truth": "2", "id": 7}',
      '   ',
      '{"ground_truth": "3", "response": "3"}',
    ])
    const result = cwb(['score', '--input', file])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('{"answer":"2","score":1}\n{"answer":"","score":0}\n')
  })

  it('score with another extractor when asked', () => {
    const result = cwb(
      ['score', '--input', '-', '--extractor', 'gsm8k'],
      {},
      '{"response": "so #### 1,000", "ground_truth": "1000"}\n',
    )
    expect(result.stdout).toBe('{"answer":"1000","score":1}\n')
  })

  it('stop at a later bad line with exit 1, after printing the good lines before it', () => {
    const file = writeInput([
      '{"mode": "majority_voting", "responses": ["\\\\boxed{1}", "\\\\boxed{1}"]}',
      '',
      '{"mode": "majority_voting", "responses": ["\\\\boxed{1}", 2]}',
      '{"mode": "majority_voting", "responses": ["\\\\boxed{1}"]}',
    ])
    const result = cwb(['rewards', '--input', file])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('{"answers":["1","1"],"pseudo_label":"1","rewards":[1,1],"advantages":[0,0]}\n')
    expect(result.stderr).toBe('line 3: responses[1]: got a number; expected a string\n')
  })

  it('name the line, the field and the problem of a malformed line, on one stderr line', () => {
    const cases: [string[], string, string][] = [
      [['score'], '{"response": 5, "ground_truth": "5"}', 'line 1: response: got a number; expected a string'],
      [['score'], '{"response": "5"}', 'line 1: ground_truth: missing; expected a string'],
      [['score'], '{"response": "5", ', 'line 1: (line): not valid JSON'],
      [['score'], '["5"]', 'line 1: (line): got an array; expected an object'],
      [['rewards'], '{"responses": ["a"]}', 'line 1: mode: missing; expected a string'],
      [['rewards'], '{"mode": "ground_truth", "responses": ["a"]}', 'line 1: ground_truth: missing; expected a string'],
      [['rewards'], '{"mode": "majority_voting", "responses": []}', 'line 1: responses: got an empty array'],
      [['rewards'], '{"mode": "co_rewarding_i", "original": ["a"]}', 'line 1: paraphrase: missing; expected an array'],
      [
        ['rewards'],
        '{"mode": "co_rewarding_ii", "policy": ["a"], "teacher": "b"}',
        'line 1: teacher: got a string; expected an array',
      ],
      [
        ['rewards'],
        '{"mode": "self_certainty", "responses": ["a"]}',
        'line 1: mode: self_certainty needs token logits and is not offered offline',
      ],
      [['rewards'], '{"mode": "entropy", "responses": ["a"]}', 'line 1: mode: entropy needs token logits'],
      [
        ['rewards'],
        '{"mode": "vibes"}',
        'line 1: mode: unknown reward mode "vibes"; use one of ground_truth, majority_voting, co_rewarding_i, co_rewarding_ii',
      ],
    ]
    for (const [command, line, message] of cases) {
      const result = cwb([...command, '--input', '-'], {}, `${line}\n`)
      expect(result.code, line).toBe(1)
      expect(result.stdout, line).toBe('')
      expect(result.stderr.split('\n'), line).toHaveLength(2)
      expect(result.stderr.startsWith(message), `${line}\n${result.stderr}`).toBe(true)
    }
  })

  it('count physical lines, blank ones included', () => {
    const result = cwb(['score', '--input', '-'], {}, '\n\n{"response": "1", "ground_truth": "1"}\nnope\n')
    expect(result.stderr).toMatch(/^line 4: \(line\): not valid JSON/)
  })

  it('exit 2 on usage mistakes and 1 on an unreadable input, with one line on stderr', () => {
    for (const args of [['score'], ['rewards'], ['score', '--input', '-', '--extractor', 'first-number']]) {
      const result = cwb(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1)
    }
    const absent = join(folder(), 'absent.jsonl')
    const unreadable = cwb(['rewards', '--input', absent])
    expect(unreadable.code).toBe(1)
    expect(unreadable.stderr).toBe(
      `cwb: error: cannot read --input ${absent}: no such file or folder; give a readable JSONL file, or - for stdin\n`,
    )
  })

  it('describe their input and output under --help', () => {
    for (const command of ['score', 'rewards']) {
      const result = cwb([command, '--help'])
      expect(result.code).toBe(0)
      expect(result.stdout).toContain(`Usage: cwb ${command}`)
      expect(result.stdout).toContain('--input <file>')
    }
    expect(cwb(['rewards', '--help']).stdout).toContain('"co_rewarding_ii","policy"')
  })
})
