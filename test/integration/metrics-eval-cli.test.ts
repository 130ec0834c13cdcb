import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import { weightShapes } from '../../main/engine/model/config'
import { Transformer } from '../../main/engine/model/transformer'
import { createDataset } from '../../main/data/datasets'
import type { NewRecord } from '../../main/store/datasets'
import { addCheckpoint } from '../../main/store/checkpoints'
import { createRun } from '../../main/store/runs'
import { recordStep } from '../../main/store/steps'
import { Store } from '../../main/store/store'
import { cwb, lastJson } from '../helpers/cli'
import { saveTinyModel, tinyModel, writeTinyCheckpoint } from '../helpers/tiny-model'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()

beforeAll(async () => {
  await useBackend('wasm')
})

/** A workspace folder whose store the test fills directly, as a trainer or an import would. */
function workspace(fill: (store: Store) => void): string {
  const dir = freshDir()
  const store = new Store(join(dir, 'workbench.db'))
  try {
    fill(store)
  } finally {
    store.close()
  }
  return dir
}

/**
 * A one-layer model that answers "\boxed{ANSWER}" to every question, greedily and (its logits are sharp) when
 * sampled: attention is off, and each token of the reply, from the prompt's last token on, predicts the next one.
 */
function writeAnsweringCheckpoint(dir: string, answer: string): void {
  const { tokenizer, config } = tinyModel()
  const d = config.hidden_size
  const half = d / 2
  const inner = config.intermediate_size
  const promptEnd = tokenizer.chatPrompt([{ role: 'user', content: 'question' }]).at(-1)!
  const chain = [promptEnd, ...tokenizer.encode(`\\boxed{${answer}}`), tokenizer.eosTokenId]
  if (new Set(chain).size !== chain.length || chain.length > half) throw new Error(`cannot chain the reply ${chain}`)
  const arrays = Object.fromEntries(
    Object.entries(weightShapes(config)).map(([name, shape]) => [name, new Float32Array(shape.reduce((a, b) => a * b, 1))]),
  )
  const set = (name: string, index: number, value: number): void => {
    arrays[name]![index] = value
  }
  for (let i = 0; i < d; i++) {
    set('layers.0.ln_1.weight', i, 1)
    set('layers.0.ln_2.weight', i, 1)
    set('ln_f.weight', i, 20)
  }
  // Token k of the chain reads as dimension k and is predicted by dimension half + k; the MLP maps k to half + k + 1.
  chain.forEach((token, k) => {
    set('embed_tokens.weight', token * d + k, 1)
    set('embed_tokens.weight', token * d + half + k, 1)
    if (k + 1 === chain.length) return
    set('layers.0.mlp.up.weight', k * inner + k, 1)
    set('layers.0.mlp.down.weight', k * d + half + k + 1, 10)
  })
  saveTinyModel(dir, config, Transformer.fromArrays(config, arrays))
}

describe('cwb metrics', () => {
  const trained = (): { dir: string; run: number } => {
    let run = 0
    const dir = workspace((store) => {
      createRun(store.db, { name: 'mv', mode: 'majority_voting', config: {}, seed: 0 })
      run = createRun(store.db, { name: 'mv', mode: 'majority_voting', config: {}, seed: 1 })
      const values: [number, number, number][] = [
        [0.25, 1.5, 120],
        [NaN, Infinity, 80],
        [0.75, 2, -Infinity],
      ]
      values.forEach(([score, gradNorm, length], step) =>
        recordStep(store.db, run, {
          step,
          wallTime: step * 3,
          tokens: step * 100,
          metrics: { 'critic/score/mean': score, 'actor/grad_norm': gradNorm, 'response_length/mean': length },
        }),
      )
    })
    return { dir, run }
  }

  it('prints every series of a run, found by id or by name, as JSON: NaN as null, infinities as strings', () => {
    const { dir, run } = trained()
    const byId = cwb(['metrics', String(run), '--workspace', dir, '--json'])
    expect(byId.code).toBe(0)
    expect(lastJson(byId.stdout)).toEqual({
      run,
      series: {
        'actor/grad_norm': [
          [0, 1.5],
          [1, 'Infinity'],
          [2, 2],
        ],
        'critic/score/mean': [
          [0, 0.25],
          [1, null],
          [2, 0.75],
        ],
        'response_length/mean': [
          [0, 120],
          [1, 80],
          [2, '-Infinity'],
        ],
      },
    })
    expect(cwb(['metrics', 'mv', '--workspace', dir, '--json']).stdout).toBe(byId.stdout)
  })

  it('prints only the keys asked for with --key, in that order, and [] for a key the run never logged', () => {
    const { dir, run } = trained()
    const result = cwb([
      'metrics',
      'mv',
      '--key',
      'response_length/mean',
      '--key',
      'critic/score/nope',
      '--workspace',
      dir,
      '--json',
    ])
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      `{"run":${run},"series":{"response_length/mean":[[0,120],[1,80],[2,"-Infinity"]],"critic/score/nope":[]}}`,
    )
  })

  it('summarises each series without --json: points, steps, first, last, min and max, skipping NaN', () => {
    const { dir, run } = trained()
    const result = cwb(['metrics', 'mv', '--workspace', dir])
    expect(result.code).toBe(0)
    expect(result.stdout.split('\n').map((line) => line.split(/\s+/).join(' '))).toEqual([
      `Run ${run} "mv" (majority_voting, queued): 3 metric key(s)`,
      'KEY POINTS STEPS FIRST LAST MIN MAX',
      'actor/grad_norm 3 0-2 1.5 2 1.5 Infinity',
      'critic/score/mean 3 0-2 0.25 0.75 0.25 0.75',
      'response_length/mean 3 0-2 120 -Infinity -Infinity 120',
      '',
    ])
  })

  it('names a run that does not exist and exits 1', () => {
    const { dir } = trained()
    const result = cwb(['metrics', 'co-ii', '--workspace', dir, '--json'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(`cwb: error: No run "co-ii" in ${dir}; \`cwb runs\` lists the runs (give an id or a name).\n`)
  })
})

describe('cwb eval', () => {
  const questions = [
    'In a basketball game, Leo scores 20 points and Luis scores 16 points. How many more points does Leo score than Luis?',
    'Zoe picks 22 apples and 15 pears, but 2 are bruised. She packs the rest into 5 equal bags. How many fruits are in each bag?',
  ]
  const withDataset = (records: NewRecord[]): string =>
    workspace((store) => createDataset(store.db, { name: 'word-problems', records }))

  it('scores the tiny model on the first 5 test questions of the demo dataset: consistent numbers, the same for a seed', () => {
    const dir = freshDir()
    const checkpoint = join(freshDir(), 'tiny')
    writeTinyCheckpoint(checkpoint)
    const args = ['eval', checkpoint, '--dataset', 'demo-arithmetic', '--limit', '5', '--samples', '4', '--seed', '3']
    const first = cwb([...args, '--workspace', dir, '--json'], { CWB_DEMO: '' })
    expect(first.code).toBe(0)
    expect(first.stderr).toContain('Dataset demo-arithmetic, split test: 300 labelled question(s), evaluating the first 5.')
    const result = lastJson(first.stdout)
    expect(Object.keys(result)).toEqual(['checkpoint', 'dataset', 'split', 'questions', 'pass@1', 'avg@4', 'pass@4', 'maj@4'])
    expect(result).toMatchObject({ checkpoint, dataset: 'demo-arithmetic', split: 'test', questions: 5 })
    const [pass1, avg, pass, maj] = ['pass@1', 'avg@4', 'pass@4', 'maj@4'].map((key) => result[key] as number)
    for (const [value, outOf] of [
      [pass1, 5],
      [pass, 5],
      [maj, 5],
      [avg, 20],
    ] as [number, number][]) {
      expect(value).toBeGreaterThanOrEqual(0)
      expect(value).toBeLessThanOrEqual(1)
      expect(Math.abs(value * outOf - Math.round(value * outOf))).toBeLessThan(1e-9)
    }
    expect(pass).toBeGreaterThanOrEqual(avg!)
    expect(pass).toBeGreaterThanOrEqual(maj!)
    expect(cwb([...args, '--workspace', dir, '--json']).stdout).toBe(first.stdout)
    const greedyOnly = lastJson(cwb(['eval', checkpoint, '--dataset', '1', '--limit', '5', '--workspace', dir, '--json']).stdout)
    expect(greedyOnly).toEqual({ checkpoint, dataset: 'demo-arithmetic', split: 'test', questions: 5, 'pass@1': pass1 })
  })

  it("gives the pass@1 that cwb generate's greedy answers give, for a model that always answers 4", () => {
    const checkpoint = join(freshDir(), 'says-4')
    writeAnsweringCheckpoint(checkpoint, '4')
    const greedy = questions.map((prompt) => {
      const result = lastJson(
        cwb(['generate', '--checkpoint', checkpoint, '--prompt', prompt, '--temperature', '0', '--json']).stdout,
      )
      return (result.completions as { answer: string }[])[0]?.answer
    })
    expect(greedy).toEqual(['4', '4'])
    // By hand: the first question's answer is 4 (right), the second's 7 (wrong): pass@1 = 1/2.
    const dir = withDataset([
      { question: questions[0]!, answer: '4', split: 'test' },
      { question: questions[1]!, answer: '7', split: 'test' },
      { question: 'What is 2 + 2?', answer: '4', split: 'train' },
    ])
    const result = cwb(['eval', checkpoint, '--dataset', 'word-problems', '--samples', '3', '--workspace', dir, '--json'])
    expect(result.code).toBe(0)
    expect(lastJson(result.stdout)).toEqual({
      checkpoint,
      dataset: 'word-problems',
      split: 'test',
      questions: 2,
      'pass@1': 0.5,
      'avg@3': 0.5,
      'pass@3': 0.5,
      'maj@3': 0.5,
    })
    const text = cwb(['eval', checkpoint, '--dataset', 'word-problems', '--workspace', dir])
    expect(text.stdout).toBe(`${checkpoint} on word-problems, split test, 2 question(s):\n  pass@1   50.0%  (greedy)\n`)
  })

  it('evaluates on validation when there is no labelled test split, then on all labelled records, saying which', () => {
    const checkpoint = join(freshDir(), 'says-7')
    writeAnsweringCheckpoint(checkpoint, '7')
    const validation = withDataset([
      { question: questions[0]!, answer: null, split: 'test' },
      { question: questions[1]!, answer: '7', split: 'validation' },
    ])
    const onValidation = cwb(['eval', checkpoint, '--dataset', 'word-problems', '--workspace', validation, '--json'])
    expect(onValidation.stderr).toContain('Dataset word-problems, split validation: 1 labelled question(s).')
    expect(lastJson(onValidation.stdout)).toMatchObject({ split: 'validation', questions: 1, 'pass@1': 1 })

    const unsplit = withDataset([
      { question: questions[0]!, answer: '4' },
      { question: questions[1]!, answer: '7', split: 'dev' },
      { question: 'What is 3 + 4?' },
    ])
    const onAll = cwb(['eval', checkpoint, '--dataset', 'word-problems', '--workspace', unsplit, '--json'])
    expect(onAll.stderr).toContain('all labelled records (no labelled test or validation split): 2 labelled question(s)')
    expect(lastJson(onAll.stdout)).toMatchObject({ split: null, questions: 2, 'pass@1': 0.5 })
  })

  it('names the datasets there are, the splits with answers and the checkpoint problem, in one line, exit 1', () => {
    const checkpoint = join(freshDir(), 'tiny')
    writeTinyCheckpoint(checkpoint)
    const dir = withDataset([
      { question: questions[0]!, answer: '4', split: 'test' },
      { question: questions[1]!, split: 'train' },
    ])
    const run = (...args: string[]): { code: number | null; stderr: string } => cwb(['eval', ...args, '--workspace', dir])
    const errors = [
      run(checkpoint, '--dataset', 'gsm8k'),
      run(checkpoint, '--dataset', 'word-problems', '--split', 'train'),
      run(checkpoint, '--dataset', 'word-problems', '--split', 'dev'),
      run('my-run:10', '--dataset', 'word-problems'),
    ]
    expect(errors.map((e) => [e.code, e.stderr])).toEqual([
      [1, `cwb: error: No dataset "gsm8k" in ${dir}; it has "word-problems". Pass one of those (or its id) to --dataset.\n`],
      [
        1,
        'cwb: error: Split "train" of dataset "word-problems" has 1 records but none with an answer, and eval needs ground-truth answers. Splits with answers: test (1).\n',
      ],
      [1, 'cwb: error: Dataset "word-problems" has no split "dev"; its splits are test (1), train (1).\n'],
      [1, expect.stringMatching(/^cwb: error: No run "my-run" \(from my-run:10\).*\n$/)],
    ])

    const config = JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(checkpoint, 'config.json'), JSON.stringify({ ...config, model_type: 'llama' }))
    const broken = run(checkpoint, '--dataset', 'word-problems')
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(/\ncwb: error: [^\n]*config\.json[^\n]*model_type "llama"[^\n]*cwb-gpt[^\n]*\n$/)
    expect(run(checkpoint, '--dataset', 'word-problems', '--samples', '1').code).toBe(2)
  })

  it('names the record whose prompt leaves no room as the Datasets view numbers it, with its id', () => {
    const checkpoint = join(freshDir(), 'tiny')
    writeTinyCheckpoint(checkpoint)
    const dir = workspace((store) => {
      createDataset(store.db, { name: 'first', records: [{ question: 'What is 2 + 2?', answer: '4' }] })
      createDataset(store.db, {
        name: 'word-problems',
        records: [
          { question: 'What is 1 + 1?', answer: '2', split: 'train' },
          { question: 'What is 2 + 3?', answer: '5', split: 'test' },
          { question: `${questions[1]!} ${questions[1]!}`, answer: '7', split: 'test' },
        ],
      })
    })
    const result = cwb(['eval', checkpoint, '--dataset', 'word-problems', '--max-new-tokens', '100000', '--workspace', dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /\ncwb: error: The prompt of record 3 of dataset "word-problems" \(id 4\) is \d+ tokens and --max-new-tokens 100000 would pass the model's context/,
    )
  })

  it('evaluates a run checkpoint named RUN:STEP', () => {
    const checkpoint = join(freshDir(), 'says-4')
    writeAnsweringCheckpoint(checkpoint, '4')
    const dir = workspace((store) => {
      createDataset(store.db, { name: 'word-problems', records: [{ question: questions[0]!, answer: '4', split: 'test' }] })
      addCheckpoint(store.db, createRun(store.db, { name: 'gt', mode: 'ground_truth', config: {}, seed: 0 }), 10, checkpoint)
    })
    const result = cwb(['eval', 'gt:latest', '--dataset', 'word-problems', '--workspace', dir, '--json'])
    expect(lastJson(result.stdout)).toMatchObject({ checkpoint, questions: 1, 'pass@1': 1 })
  })
})
