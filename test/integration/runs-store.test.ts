import { describe, expect, it } from 'vitest'
import { createDataset } from '../../main/data/datasets'
import { datasetRecords, datasetSplits, findDataset } from '../../main/store/datasets'
import { addCheckpoint, listRunCheckpoints, tagCheckpoint } from '../../main/store/checkpoints'
import { addEvent, runEvents } from '../../main/store/events'
import { lastStep, metricKeys, metricSeries } from '../../main/store/metrics'
import {
  createRun,
  getRun,
  heartbeat,
  markInterruptedRuns,
  requestStop,
  stopRequested,
  updateRun,
  type NewRun,
} from '../../main/store/runs'
import { stepSamples, type SampleRow } from '../../main/store/samples'
import { discardFromStep, recordStep } from '../../main/store/steps'
import { freshStores } from '../helpers/stores'

const openStore = freshStores()

const gtRun: NewRun = { name: 'gt', mode: 'ground_truth', config: { lr: 3e-6, group_size: 8 }, seed: 7 }

const sample = (groupIndex: number, text: string, reward: number | null = 1): SampleRow => ({
  groupIndex,
  view: 'original',
  prompt: 'What is 2 + 2?',
  text,
  answer: '4',
  reward,
})

describe('runs in the run store', () => {
  it('stores a new run as queued with its parsed config, and finds it by id or as the newest run of its name', () => {
    const store = openStore()
    const first = createRun(store.db, { ...gtRun, environment: { backend: 'wasm', node: '20' } })
    const second = createRun(store.db, { ...gtRun, seed: 8, origin: 'verl' })
    expect(getRun(store.db, first)).toMatchObject({
      id: first,
      name: 'gt',
      mode: 'ground_truth',
      config: { lr: 3e-6, group_size: 8 },
      environment: { backend: 'wasm', node: '20' },
      status: 'queued',
      seed: 7,
      origin: 'local',
      tags: [],
      notes: '',
      datasetId: null,
      startedAt: null,
      trainerPid: null,
      heartbeatAt: null,
      stopRequested: false,
    })
    expect(getRun(store.db, 'gt')).toMatchObject({ id: second, seed: 8, origin: 'verl', environment: {} })
    expect(getRun(store.db, String(first))?.seed).toBe(7)
    expect(getRun(store.db, 'nobody')).toBeUndefined()
    expect(store.listRuns().map((run) => run.id)).toEqual([second, first])
  })

  it('refuses a run without a mode (the host checks the name against its registry), and a config that is not an object', () => {
    const store = openStore()
    expect(() => createRun(store.db, { ...gtRun, mode: ' ' })).toThrow('A run needs a reward mode; pass its name.')
    expect(() => createRun(store.db, { ...gtRun, config: [1, 2] })).toThrow('The run config must be a JSON object, got an array.')
    expect(store.listRuns()).toEqual([])
  })

  it('updates only the fields given, and refuses an unknown status or run', () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    const updated = updateRun(store.db, id, {
      status: 'running',
      backend: 'wasm',
      trainerPid: 4242,
      trainerHost: 'gpu-1',
      startedAt: '2025-01-02T03:04:05.000Z',
      tags: ['baseline'],
    })
    expect(updated).toMatchObject({
      status: 'running',
      backend: 'wasm',
      trainerPid: 4242,
      trainerHost: 'gpu-1',
      tags: ['baseline'],
    })
    expect(updateRun(store.db, id, { notes: 'lr too high', name: 'gt-fast' })).toMatchObject({
      name: 'gt-fast',
      notes: 'lr too high',
      status: 'running',
      startedAt: '2025-01-02T03:04:05.000Z',
      config: gtRun.config,
    })
    expect(() => updateRun(store.db, id, { status: 'paused' as 'running' })).toThrow('Run status "paused" is not one of queued,')
    expect(() => updateRun(store.db, id + 1, { notes: 'x' })).toThrow(`No run with id ${id + 1} in this workspace`)
  })

  it("records a step's metrics and samples together: NaN reads back as null, infinities as they are", () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    recordStep(store.db, id, {
      step: 1,
      wallTime: 2.5,
      tokens: 640,
      metrics: { 'critic/score/mean': 0.25, 'actor/kl_loss': NaN, 'actor/grad_norm': Infinity, 'actor/pg_loss': -Infinity },
      samples: [
        sample(0, 'It is \\boxed{4}.'),
        { ...sample(1, 'No idea.', 0), recordId: null, pseudoLabel: '4', advantage: -0.5 },
      ],
    })
    expect(metricSeries(store.db, id)).toEqual({
      'actor/grad_norm': [[1, Infinity]],
      'actor/kl_loss': [[1, null]],
      'actor/pg_loss': [[1, -Infinity]],
      'critic/score/mean': [[1, 0.25]],
    })
    expect(store.db.prepare('SELECT DISTINCT wall_time AS wallTime, tokens FROM metrics').all()).toEqual([
      { wallTime: 2.5, tokens: 640 },
    ])
    expect(stepSamples(store.db, id, 1)).toMatchObject([
      {
        step: 1,
        groupIndex: 0,
        view: 'original',
        text: 'It is \\boxed{4}.',
        answer: '4',
        reward: 1,
        pseudoLabel: null,
        advantage: null,
      },
      { step: 1, groupIndex: 1, text: 'No idea.', reward: 0, pseudoLabel: '4', advantage: -0.5, recordId: null },
    ])
    expect(store.listRuns()[0]?.steps).toBe(1)
  })

  it('lists each run with its held-out accuracy at its last validated step (the mean over sources) and its latest training score', () => {
    const store = openStore()
    const validated = createRun(store.db, gtRun)
    const record = (id: number, step: number, metrics: Record<string, number>): void =>
      recordStep(store.db, id, { step, wallTime: step, tokens: 0, metrics, samples: [] })
    record(validated, 0, { 'val-core/math/reward/mean@1': 0.5, 'val-core/amc/reward/mean@1': 0.25 })
    record(validated, 1, { 'critic/score/mean': 0.375 })
    record(validated, 2, { 'critic/score/mean': 0.5, 'val-core/math/reward/mean@1': 0.75, 'val-core/amc/reward/mean@1': 0.5 })
    // A later step without validation keeps the step-2 accuracy; the training score is the step-3 one.
    record(validated, 3, { 'critic/score/mean': 0.625, 'val-core-like/x': 1 })
    const unvalidated = createRun(store.db, { ...gtRun, name: 'no-validation' })
    record(unvalidated, 1, { 'critic/score/mean': 0.125 })
    const bare = createRun(store.db, { ...gtRun, name: 'bare' })
    const byId = new Map(store.listRuns().map((run) => [run.id, run]))
    expect(byId.get(validated)).toMatchObject({ heldOut: 0.625, heldOutStep: 2, reward: 0.625 })
    expect(byId.get(unvalidated)).toMatchObject({ heldOut: null, heldOutStep: null, reward: 0.125 })
    expect(byId.get(bare)).toMatchObject({ heldOut: null, heldOutStep: null, reward: null })
  })

  it('rewrites a step recorded again: its metrics are replaced key by key, its samples replaced, or kept when none are given', () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    recordStep(store.db, id, {
      step: 3,
      wallTime: 9,
      tokens: 900,
      metrics: { a: 1, b: 2 },
      samples: [sample(0, 'x'), sample(1, 'y')],
    })
    recordStep(store.db, id, { step: 3, wallTime: 10, tokens: 950, metrics: { b: 20, c: 30 } })
    expect(metricSeries(store.db, id)).toEqual({ a: [[3, 1]], b: [[3, 20]], c: [[3, 30]] })
    expect(stepSamples(store.db, id, 3).map((s) => s.text)).toEqual(['x', 'y'])
    recordStep(store.db, id, { step: 3, wallTime: 11, tokens: 990, metrics: {}, samples: [sample(0, 'z')] })
    expect(stepSamples(store.db, id, 3).map((s) => s.text)).toEqual(['z'])
    recordStep(store.db, id, { step: 3, wallTime: 12, tokens: 990, metrics: {}, samples: [] })
    expect(stepSamples(store.db, id, 3)).toEqual([])
  })

  it('writes nothing of a step that fails part-way, and names the step and field of a bad value', () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    const unknownRecord = { ...sample(0, 'x'), recordId: 12345 }
    expect(() =>
      recordStep(store.db, id, { step: 1, wallTime: 1, tokens: 1, metrics: { a: 1 }, samples: [unknownRecord] }),
    ).toThrow(/FOREIGN KEY/)
    expect(metricSeries(store.db, id)).toEqual({})
    expect(() =>
      recordStep(store.db, id, { step: 2, wallTime: 1, tokens: 1, metrics: { 'actor/lr': '3e-6' as unknown as number } }),
    ).toThrow(`Step 2 of run ${id}: metric "actor/lr" must be a number, got "3e-6".`)
    expect(() =>
      recordStep(store.db, id, {
        step: 2,
        wallTime: 1,
        tokens: 1,
        metrics: {},
        samples: [{ ...sample(0, 'x'), view: 'student' as 'teacher' }],
      }),
    ).toThrow(`Step 2 of run ${id}, sample 1: view "student" is not one of original, paraphrase, teacher; use one of them.`)
    expect(() => recordStep(store.db, id + 1, { step: 1, wallTime: 1, tokens: 1, metrics: { a: 1 } })).toThrow(
      `No run with id ${id + 1}`,
    )
  })

  it('reads metric series in step order: every key, or the keys asked for in that order with [] for an unknown one', () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    const other = createRun(store.db, { ...gtRun, name: 'other' })
    for (const step of [2, 0, 1])
      recordStep(store.db, id, { step, wallTime: step, tokens: 0, metrics: { loss: 10 - step, acc: step / 4 } })
    recordStep(store.db, other, { step: 5, wallTime: 0, tokens: 0, metrics: { loss: 99 } })
    expect(metricSeries(store.db, id)).toEqual({
      acc: [
        [0, 0],
        [1, 0.25],
        [2, 0.5],
      ],
      loss: [
        [0, 10],
        [1, 9],
        [2, 8],
      ],
    })
    expect(metricSeries(store.db, id, ['loss', 'nope'])).toEqual({
      loss: [
        [0, 10],
        [1, 9],
        [2, 8],
      ],
      nope: [],
    })
    expect(Object.keys(metricSeries(store.db, id, ['loss', 'acc']))).toEqual(['loss', 'acc'])
    expect(metricKeys(store.db, id)).toEqual(['acc', 'loss'])
    expect(lastStep(store.db, id)).toBe(2)
    expect(lastStep(store.db, other)).toBe(5)
    expect(lastStep(store.db, createRun(store.db, gtRun))).toBeUndefined()
  })

  it('discards metrics, samples and step-tagged events from a step on, keeping earlier steps, other runs and untagged events', () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    const other = createRun(store.db, gtRun)
    for (const run of [id, other]) {
      for (const step of [1, 2, 3]) {
        recordStep(store.db, run, {
          step,
          wallTime: step,
          tokens: 0,
          metrics: { a: step, b: -step },
          samples: [sample(0, `s${step}`)],
        })
        addEvent(store.db, run, { level: 'warning', kind: 'alert', step, message: `alert at ${step}` })
      }
      addEvent(store.db, run, { level: 'info', kind: 'log', message: 'resumed' })
    }
    expect(discardFromStep(store.db, id, 2)).toEqual({ metrics: 4, samples: 2, events: 2 })
    expect(metricSeries(store.db, id)).toEqual({ a: [[1, 1]], b: [[1, -1]] })
    expect(stepSamples(store.db, id, 2)).toEqual([])
    expect(stepSamples(store.db, id, 1)).toHaveLength(1)
    expect(runEvents(store.db, id).map((e) => e.message)).toEqual(['alert at 1', 'resumed'])
    expect(lastStep(store.db, other)).toBe(3)
    expect(runEvents(store.db, other)).toHaveLength(4)
  })

  it('keeps one checkpoint per step: recording a step again replaces its folder under the same id; tags are added and removed', () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    const at20 = addCheckpoint(store.db, id, 20, '/ckpt/20', ['best'])
    const at10 = addCheckpoint(store.db, id, 10, '/ckpt/10')
    expect(addCheckpoint(store.db, id, 20, '/ckpt/20-again')).toBe(at20)
    expect(listRunCheckpoints(store.db, id)).toMatchObject([
      { id: at10, runId: id, step: 10, path: '/ckpt/10', tags: [] },
      { id: at20, runId: id, step: 20, path: '/ckpt/20-again', tags: [] },
    ])
    expect(tagCheckpoint(store.db, at10, ['best', 'shared'])).toEqual(['best', 'shared'])
    expect(tagCheckpoint(store.db, at10, ['paper', 'best'], ['shared'])).toEqual(['best', 'paper'])
    expect(store.listCheckpoints(id).find((c) => c.id === at10)?.tags).toEqual(['best', 'paper'])
    expect(() => tagCheckpoint(store.db, 999, ['x'])).toThrow('No checkpoint with id 999')
  })

  it('lists events in the order added, by kind, after an id and up to a limit, with their data parsed', () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    const log1 = addEvent(store.db, id, { level: 'info', kind: 'log', message: 'step 1 done', step: 1 })
    const alert = addEvent(store.db, id, {
      level: 'warning',
      kind: 'alert',
      step: 2,
      message: 'response length collapsing',
      data: { mean: 3.5 },
    })
    const log2 = addEvent(store.db, id, { level: 'debug', kind: 'log', message: 'step 2 done' })
    addEvent(store.db, null, { level: 'info', kind: 'log', message: 'workspace opened' })
    expect(runEvents(store.db, id).map((e) => e.id)).toEqual([log1, alert, log2])
    expect(runEvents(store.db, id, { kinds: ['alert'] })).toMatchObject([
      {
        id: alert,
        runId: id,
        level: 'warning',
        kind: 'alert',
        step: 2,
        message: 'response length collapsing',
        data: { mean: 3.5 },
      },
    ])
    expect(runEvents(store.db, id, { afterId: log1 }).map((e) => e.id)).toEqual([alert, log2])
    expect(runEvents(store.db, id, { kinds: ['log', 'status'], limit: 1 }).map((e) => e.id)).toEqual([log1])
    expect(runEvents(store.db, null).map((e) => e.message)).toEqual(['workspace opened'])
    expect(() => addEvent(store.db, id, { level: 'loud' as 'info', kind: 'log', message: 'x' })).toThrow('Event level "loud"')
  })

  it('hands a stop request from one connection (the CLI) to another (the trainer), once', () => {
    const trainer = openStore()
    const cli = openStore(trainer.file)
    const id = createRun(trainer.db, gtRun)
    updateRun(trainer.db, id, { status: 'running' })
    expect(stopRequested(trainer.db, id)).toBe(false)
    expect(requestStop(cli.db, id)).toBe('stopping')
    expect(requestStop(cli.db, id)).toBe('stopping')
    expect(stopRequested(trainer.db, id)).toBe(true)
    expect(getRun(trainer.db, id)).toMatchObject({ status: 'stopping', stopRequested: true })
    expect(runEvents(trainer.db, id).map((e) => [e.kind, e.message])).toEqual([
      ['status', 'Stop requested: the trainer stops after its current step.'],
    ])
    updateRun(trainer.db, id, { status: 'stopped' })
    expect(() => requestStop(cli.db, id)).toThrow(`Run ${id} ("gt") is already stopped; there is nothing to stop.`)
    expect(updateRun(trainer.db, id, { status: 'running', stopRequested: false }).stopRequested).toBe(false)
    expect(stopRequested(trainer.db, id + 1)).toBe(true)
  })

  it('marks runs interrupted when their local trainer process is gone or a remote one stopped beating, saying why', () => {
    const store = openStore()
    const start = Date.now()
    const run = (name: string, fields: Parameters<typeof updateRun>[2]): number => {
      const id = createRun(store.db, { ...gtRun, name })
      updateRun(store.db, id, fields)
      heartbeat(store.db, id)
      return id
    }
    const alive = run('alive', { status: 'running', trainerPid: 100, trainerHost: 'here' })
    const dead = run('dead', { status: 'stopping', trainerPid: 200, trainerHost: 'here' })
    const remote = run('remote', { status: 'running', trainerPid: 200, trainerHost: 'gpu-1' })
    const done = run('done', { status: 'finished', trainerPid: 200, trainerHost: 'here' })
    const queued = createRun(store.db, { ...gtRun, name: 'queued' })
    expect(getRun(store.db, remote)?.heartbeatAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

    const asked: [number, string][] = []
    const isAlive = (pid: number, host: string): boolean => {
      asked.push([pid, host])
      return pid === 100
    }
    expect(markInterruptedRuns(store.db, isAlive, { host: 'here', now: start + 60_000 })).toEqual([dead])
    expect(asked).toEqual([
      [100, 'here'],
      [200, 'here'],
    ])
    expect(runEvents(store.db, dead)).toMatchObject([
      {
        kind: 'status',
        level: 'warning',
        message:
          'Run interrupted while stopping: its trainer (process 200 on here) is no longer running. Resume it from its last checkpoint.',
        data: { previousStatus: 'stopping', trainerPid: 200, trainerHost: 'here' },
      },
    ])
    expect(markInterruptedRuns(store.db, isAlive, { host: 'here', now: start + 3 * 60_000 })).toEqual([remote])
    expect(runEvents(store.db, remote)[0]?.message).toMatch(
      /^Run interrupted while running: no heartbeat from its trainer on gpu-1 since 20/,
    )
    expect([alive, dead, remote, done, queued].map((id) => getRun(store.db, id)?.status)).toEqual([
      'running',
      'interrupted',
      'interrupted',
      'finished',
      'queued',
    ])
  })

  it('writes 100 steps of 64 samples and 60 metrics, each step replacing its own rows', () => {
    const store = openStore()
    const id = createRun(store.db, gtRun)
    const samples = Array.from({ length: 64 }, (_, i) => ({
      ...sample(i % 8, `Step by step: 20 - 16 = 4, so \\boxed{4}. (${i})`.repeat(4)),
      recordId: null,
      pseudoLabel: '4',
      advantage: 0.1 * (i % 8),
    }))
    const metrics = Object.fromEntries(Array.from({ length: 60 }, (_, k) => [`metric/${k}`, k / 7]))
    const steps = 100
    for (let step = 1; step <= steps; step++)
      recordStep(store.db, id, { step, wallTime: step, tokens: step * 1000, metrics, samples })
    recordStep(store.db, id, { step: steps, wallTime: steps, tokens: 0, metrics, samples })
    expect(lastStep(store.db, id)).toBe(steps)
    expect(stepSamples(store.db, id, steps)).toHaveLength(64)
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM samples WHERE run_id = ?').get(id) as { n: number }).n).toBe(64 * steps)
  })
})

describe('reading datasets back from the run store', () => {
  it('finds a dataset by name or id and lists its records by split, with or without the unlabelled ones', () => {
    const store = openStore()
    const { id } = createDataset(store.db, {
      name: 'math',
      records: [
        { question: 'What is 2 + 2?', answer: '4', split: 'test', source: { data_source: 'gsm8k' } },
        { question: 'What is 3 + 3?', answer: ' ', split: 'test' },
        { question: 'What is 4 + 4?', answer: '8' },
        { question: 'What is 5 + 5?' },
        { question: 'What is 6 + 6?', answer: '12', split: 'test' },
      ],
    })
    expect(findDataset(store.db, 'math')).toMatchObject({ id, name: 'math', description: '', source: {} })
    expect(findDataset(store.db, String(id))?.name).toBe('math')
    expect(findDataset(store.db, id)?.name).toBe('math')
    expect(findDataset(store.db, 'physics')).toBeUndefined()
    expect(datasetRecords(store.db, id, { split: 'test', labelledOnly: true })).toMatchObject([
      { question: 'What is 2 + 2?', answer: '4', split: 'test', source: { data_source: 'gsm8k' } },
      { question: 'What is 6 + 6?', answer: '12', split: 'test', source: {} },
    ])
    expect(datasetRecords(store.db, id).map((r) => r.answer)).toEqual(['4', ' ', '8', null, '12'])
    expect(datasetRecords(store.db, id, { labelledOnly: true }).map((r) => r.answer)).toEqual(['4', '8', '12'])
    expect(datasetSplits(store.db, id)).toEqual({ test: 3, train: 2 })
    expect(datasetSplits(store.db, id, { labelledOnly: true })).toEqual({ test: 2, train: 1 })
  })
})
