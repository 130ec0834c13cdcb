// The checkpoint services through the workbench host's real dispatch, as the Checkpoints view calls them: a tiny
// Co-rewarding-II run trained by the real trainer (build first), the real store, weight files, worker thread,
// engine and onnxruntime. Every answer is checked against the contract.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventPayload } from '../../preload/contract'
import { readSafetensors } from '../../main/engine/checkpoint/safetensors'
import { tensorStats, weightDelta } from '../../main/engine/checkpoint/stats'
import { parameterCount, parseModelConfig, weightShapes } from '../../main/engine/model/config'
import { WorkbenchHost } from '../../main/services/workbench'
import { getRun } from '../../main/store/runs'
import { Store } from '../../main/store/store'
import { cwb, lastJson, root } from '../helpers/cli'
import { collectEvents, dispatcher } from '../helpers/host'
import { trainedWorkspace, type TrainedWorkspace } from './checkpoints-fixture'

let trained: TrainedWorkspace
let store: Store
let host: WorkbenchHost
let progress: EventPayload<'job.progress'>[]
const baseModel = join(root, 'resources/base-model')
const folderOf = (step: number): string => join(trained.dir, `runs/1/checkpoints/step-${step}`)

beforeAll(() => {
  trained = trainedWorkspace()
  store = new Store(join(trained.dir, 'workbench.db'))
  host = new WorkbenchHost({ store, workspace: trained.dir, host: 'browser', probe: async () => [], maxRuns: 1 })
  progress = collectEvents(host, 'job.progress')
}, 120_000)
afterAll(() => {
  host?.close()
  store?.close()
  trained?.remove()
})

const { call, refuse } = dispatcher(() => host)

const ids = async (): Promise<Record<number, number>> =>
  Object.fromEntries((await call('checkpoints.overview', { run: 1 })).checkpoints.map((c) => [c.step, c.id]))

describe('a run’s checkpoints', () => {
  it('are listed as `cwb checkpoints` lists them', async () => {
    const overview = await call('checkpoints.overview', { run: 1 })
    expect(overview).toEqual(lastJson(cwb(['checkpoints', '1', '--json', '--workspace', trained.dir]).stdout))
  })

  it('each show config, files, metrics at the step, and what they compare against', async () => {
    const step = await ids()
    const first = await call('checkpoints.get', { checkpoint: step[1]! })
    const config = parseModelConfig(JSON.parse(readFileSync(join(folderOf(1), 'config.json'), 'utf8')), 'test')
    expect(first).toMatchObject({
      id: step[1],
      run: 1,
      runName: 'tiny-co2',
      step: 1,
      path: folderOf(1),
      modelType: 'cwb-gpt',
      parameters: parameterCount(config),
      hasTeacher: true,
      base: trained.tiny,
      previous: { id: null, step: null, path: trained.tiny },
      parent: null,
      children: [],
    })
    expect(first.files.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'config.json',
        'model.safetensors',
        'optimizer.safetensors',
        'teacher.safetensors',
        'trainer_state.json',
      ]),
    )
    expect(first.metrics.map((m) => m.key)).toEqual(
      expect.arrayContaining(['critic/score/mean', 'val-core/demo-arithmetic/reward/mean@1']),
    )
    const third = await call('checkpoints.get', { checkpoint: 'tiny-co2:3' })
    expect(third).toMatchObject({ id: step[3], previous: { id: step[2], step: 2, path: folderOf(2) } })
    expect(third.tags).toContain('latest')
    expect((await refuse('checkpoints.get', { checkpoint: 999 })).code).toBe('not_found')
    expect((await refuse('checkpoints.get', { checkpoint: 'tiny-co2:9' })).message).toMatch(/has checkpoints at steps 1, 2, 3/)
  })
})

describe('weight statistics and deltas', () => {
  it('give every tensor’s statistics and each layer’s, as worked out from the file, in a worker thread', async () => {
    const step = await ids()
    // Computed off the event loop: timers keep firing while the worker reads the file.
    let ticks = 0
    const ticker = setInterval(() => (ticks += 1), 1)
    const stats = await call('checkpoints.stats', { checkpoint: step[2]! })
    clearInterval(ticker)
    expect(ticks).toBeGreaterThan(0)
    const { tensors } = readSafetensors(join(folderOf(2), 'model.safetensors'))
    const config = parseModelConfig(JSON.parse(readFileSync(join(folderOf(2), 'config.json'), 'utf8')), 'test')
    expect(stats.file).toBe('model.safetensors')
    expect(stats.tensors.map((t) => t.name).sort()).toEqual(Object.keys(weightShapes(config)).sort())
    expect(stats.layers.map((l) => l.layer)).toEqual(['embeddings', 'layers.0', 'final_norm'])
    const embeddings = stats.tensors.find((t) => t.name === 'embed_tokens.weight')!
    const expected = tensorStats('embed_tokens.weight', tensors['embed_tokens.weight']!)
    expect(embeddings.histogram.counts).toEqual(expected.histogram.counts)
    expect(embeddings.norm).toBeCloseTo(expected.norm, 9)
    expect(embeddings.std).toBeCloseTo(expected.std, 9)
    expect(stats.total.count).toBe(parameterCount(config))

    const teacher = await call('checkpoints.stats', { checkpoint: step[2]!, weights: 'teacher' })
    expect(teacher.file).toBe('teacher.safetensors')
    expect((await refuse('checkpoints.stats', { checkpoint: 'base', weights: 'teacher' })).message).toMatch(/has no EMA teacher/)
  })

  it('measure the change against the previous checkpoint, the base, the EMA teacher and another checkpoint', async () => {
    const step = await ids()
    const weightsOf = (folder: string, file = 'model.safetensors') => readSafetensors(join(folder, file)).tensors
    const cases = [
      { against: 'previous' as const, checkpoint: step[2]!, b: weightsOf(folderOf(1)), kind: 'previous' },
      { against: 'previous' as const, checkpoint: step[1]!, b: weightsOf(trained.tiny), kind: 'previous' },
      { against: 'base' as const, checkpoint: step[3]!, b: weightsOf(trained.tiny), kind: 'base' },
      { against: 'teacher' as const, checkpoint: step[3]!, b: weightsOf(folderOf(3), 'teacher.safetensors'), kind: 'teacher' },
      { against: step[1]!, checkpoint: step[3]!, b: weightsOf(folderOf(1)), kind: 'checkpoint' },
    ]
    for (const { against, checkpoint, b, kind } of cases) {
      const delta = await call('checkpoints.delta', { checkpoint, against })
      const a = weightsOf((await call('checkpoints.get', { checkpoint })).path)
      const expected = weightDelta(a, b)
      expect(delta.against.kind, `${kind}`).toBe(kind)
      expect(delta.layers.map((l) => l.layer)).toEqual(['embeddings', 'layers.0', 'final_norm'])
      expect(delta.total.diffNorm, `${kind}`).toBeCloseTo(expected.total.diffNorm, 9)
      expect(delta.layers.map((l) => l.maxAbs)).toEqual(expected.layers.map((l) => l.maxAbs))
    }
    expect((await call('checkpoints.delta', { checkpoint: step[1]!, against: 'previous' })).against.label).toMatch(
      /start checkpoint/,
    )
    // GRPO updates move the policy: the last checkpoint is not the base model.
    expect((await call('checkpoints.delta', { checkpoint: step[3]!, against: 'base' })).total.diffNorm).toBeGreaterThan(0)
  })

  it('refuse what cannot be compared, saying why', async () => {
    const step = await ids()
    expect((await refuse('checkpoints.delta', { checkpoint: step[3]!, against: baseModel })).message).toMatch(
      /share no tensor of the same shape .* different architectures/,
    )
    expect((await refuse('checkpoints.delta', { checkpoint: trained.tiny, against: 'previous' })).message).toMatch(
      /is no run's checkpoint, so it has no previous checkpoint/,
    )
  })
})

describe('the behaviour diff and evaluation', () => {
  it('compares a checkpoint with its EMA teacher as a job with progress events', async () => {
    const step = await ids()
    progress.length = 0
    const result = await call('checkpoints.diff', { a: step[3]!, teacher: true, probe: 3, samples: 2, job: 'diff-1' })
    expect(result).toMatchObject({ a: { label: 'tiny-co2:3' }, b: { label: 'EMA teacher of tiny-co2:3' }, split: 'validation' })
    expect(result.rows).toHaveLength(3)
    expect(result.summary.line).toMatch(/^A correct: \d\/3, B correct: \d\/3, flipped correct->wrong: \d, wrong->correct: \d$/)
    expect(progress.every((p) => p.job === 'diff-1' && p.kind === 'diff')).toBe(true)
    expect(progress.map((p) => p.stage)).toEqual(expect.arrayContaining(['A: tiny-co2:3', 'B: the EMA teacher of tiny-co2:3']))
    expect(progress.at(-1)).toMatchObject({ done: 9, total: 9 })
    const both = await refuse('checkpoints.diff', { a: step[3]!, b: step[2]!, teacher: true, job: 'diff-2' })
    expect(both).toMatchObject({ code: 'invalid_request', issues: [{ path: 'b' }] })
  })

  it('evaluates a checkpoint as `cwb eval` does', async () => {
    const step = await ids()
    const result = await call('checkpoints.evaluate', { checkpoint: step[2]!, limit: 3, samples: 2, job: 'eval-1' })
    const cli = lastJson<Record<string, unknown>>(
      cwb([
        'eval',
        'tiny-co2:2',
        '--dataset',
        'demo-arithmetic',
        '--split',
        'validation',
        '--limit',
        '3',
        '--samples',
        '2',
        '--json',
        '--workspace',
        trained.dir,
      ]).stdout,
    )
    expect(result).toMatchObject({ dataset: 'demo-arithmetic', split: 'validation', questions: 3, samples: 2 })
    expect([result.pass1, result.avgK, result.passK, result.majK]).toEqual([
      cli['pass@1'],
      cli['avg@2'],
      cli['pass@2'],
      cli['maj@2'],
    ])
  })
})

describe('exports and external folders', () => {
  it('exports ONNX checked against the engine, and a Hugging Face folder that opens as an external checkpoint', async () => {
    const step = await ids()
    const onnx = await call('checkpoints.exportOnnx', { checkpoint: step[3]!, weights: 'teacher' })
    expect(onnx.file).toBe(join(trained.dir, 'exports', 'tiny-co2-step-3-teacher.onnx'))
    expect(onnx.check).toMatchObject({ prompts: 4, ok: true })
    expect(onnx.check.maxAbsDiff).toBeLessThan(1e-3)

    const out = join(trained.dir, 'exported')
    const hf = await call('checkpoints.exportHf', { checkpoint: step[3]!, out })
    expect(hf.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
    const opened = await call('checkpoints.openFolder', { path: out })
    expect(opened).toMatchObject({
      id: null,
      run: null,
      path: out,
      modelType: 'cwb-gpt',
      hasTeacher: false,
      base: null,
      previous: null,
    })
    const stats = await call('checkpoints.stats', { checkpoint: out })
    const same = await call('checkpoints.stats', { checkpoint: step[3]! })
    expect(stats.tensors).toEqual(same.tensors)
    expect((await refuse('checkpoints.exportHf', { checkpoint: step[3]!, out })).message).toMatch(/not an empty folder/)
  })

  it('refuses a folder whose model_type the engine does not support, naming it and the supported ones', async () => {
    const gpt2 = join(trained.dir, 'gpt2')
    cpSync(trained.tiny, gpt2, { recursive: true })
    const config = JSON.parse(readFileSync(join(gpt2, 'config.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(gpt2, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt2' }))
    for (const [method, params] of [
      ['checkpoints.openFolder', { path: gpt2 }],
      ['checkpoints.branch', { checkpoint: gpt2, config: { mode: 'ground_truth' } }],
    ] as const) {
      const error = await refuse(method, params)
      expect(error.code, method).toBe('invalid_request')
      expect(error.message, method).toMatch(
        /model_type "gpt2", which this engine does not support; supported: "cwb-gpt", "qwen2", "qwen3", "llama"/,
      )
    }
    expect((await refuse('checkpoints.openFolder', { path: join(trained.dir, 'nothing') })).code).toBe('not_found')
  })
})

describe('branching, tagging and deleting', () => {
  it('branches a run from a checkpoint, recording it as the parent, and keeps it while the branch may use it', async () => {
    const step = await ids()
    const { run, config } = await call('checkpoints.branch', {
      checkpoint: step[2]!,
      config: { steps: 2, validation: { every: 2, questions: 2 } },
    })
    expect(config).toMatchObject({ name: 'tiny-co2-from-2', checkpoint: '1:2', mode: 'co_rewarding_ii', steps: 2, batch_size: 2 })
    const branched = getRun(store.db, run)!
    expect(branched.parentCheckpointId).toBe(step[2])
    expect(branched.environment.start_checkpoint).toBe(folderOf(2))
    const refused = await refuse('checkpoints.delete', { checkpoint: step[2]!, force: true })
    expect(refused.message).toMatch(new RegExp(`where run ${run} \\("tiny-co2-from-2", (queued|running)\\) starts from`))
    await expect.poll(() => getRun(store.db, run)!.status, { timeout: 60_000, interval: 100 }).toBe('finished')
    expect((await call('checkpoints.get', { checkpoint: step[2]! })).children).toEqual([
      { id: run, name: 'tiny-co2-from-2', status: 'finished' },
    ])
    const child = (await call('checkpoints.overview', { run })).checkpoints.at(-1)!
    expect((await call('checkpoints.get', { checkpoint: child.id })).parent).toEqual({ id: step[2], run: 1, step: 2 })
    // An external folder branches too, with the mode's defaults.
    const small = { steps: 1, batch_size: 2, rollouts: 2, max_response_tokens: 8, validation: { every: 1, questions: 2 } }
    const external = await call('checkpoints.branch', { checkpoint: trained.tiny, config: { mode: 'ground_truth', ...small } })
    expect(external.config).toMatchObject({ name: 'from-tiny', checkpoint: trained.tiny, mode: 'ground_truth' })
    expect(getRun(store.db, external.run)!.parentCheckpointId).toBeNull()
    await expect.poll(() => getRun(store.db, external.run)!.status, { timeout: 60_000, interval: 100 }).toBe('finished')
  })

  it('adds and removes user tags, but not the computed ones', async () => {
    const step = await ids()
    expect((await call('checkpoints.tag', { checkpoint: step[1]!, add: ['keep', 'paper'] })).tags).toEqual(
      expect.arrayContaining(['keep', 'paper']),
    )
    expect((await call('checkpoints.tag', { checkpoint: step[1]!, remove: ['paper'] })).tags).not.toContain('paper')
    expect((await refuse('checkpoints.tag', { checkpoint: step[1]!, add: ['best-self'] })).message).toMatch(
      /"best-self" is computed from the run's metrics/,
    )
  })

  it('deletes a checkpoint and its folder, asking for force when it is tagged', async () => {
    const step = await ids()
    const tagged = await refuse('checkpoints.delete', { checkpoint: step[1]! })
    expect(tagged).toMatchObject({ code: 'conflict', message: expect.stringMatching(/is tagged .*keep.*; delete it with force/) })
    const deleted = await call('checkpoints.delete', { checkpoint: step[1]!, force: true })
    expect(deleted).toMatchObject({ checkpoint: step[1], run: 1, step: 1, removedFolder: true })
    expect(deleted.freedBytes).toBeGreaterThan(0)
    expect(existsSync(folderOf(1))).toBe(false)
    expect((await call('checkpoints.overview', { run: 1 })).checkpoints.map((c) => c.step)).toEqual([2, 3])
    // The first checkpoint left now compares against the run's start.
    expect((await call('checkpoints.get', { checkpoint: step[2]! })).previous).toMatchObject({ path: trained.tiny })
  })
})
