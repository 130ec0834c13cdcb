// Runs beyond one machine through the host's dispatch (the boundary both transports use), on a real store and real
// files: import a verl console log written the way Ray prints it, follow it as it grows, export a local run to verl,
// move a run through a bundle, and the download route that serves only the workspace's exports.
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultRunConfig } from '../../main/engine/run-config'
import { uploadPath } from '../../main/data/import/uploads'
import { startServer } from '../../main/serve/server'
import { DEMO_DATASET_NAME, ensureDemoDataset } from '../../main/data/demo/dataset'
import { addCheckpoint } from '../../main/store/checkpoints'
import { addEvent } from '../../main/store/events'
import { metricSeries } from '../../main/store/metrics'
import { createRun, updateRun } from '../../main/store/runs'
import { recordStep } from '../../main/store/steps'
import { hostOnWorkspace } from '../helpers/host'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { cleanupsAfterEach, tempDir } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()
const setUp = () => hostOnWorkspace(cleanups)

const ray = (text: string): string => `\u001b[36m(TaskRunner pid=48211)\u001b[0m ${text}`
const stepLine = (step: number, score: string): string =>
  ray(`step:${step} - critic/score/mean:${score} - response_length/mean:np.float64(${100 + step}.5) - actor/kl_loss:nan`)

/** A console log as Ray captures it: tagged, coloured, with progress bars, unrelated lines and a half-written last line. */
function consoleLog(): string {
  return [
    ray('INFO 2026-05-01 12:00:00 Starting vLLM engine'),
    ray('step:0 - val-core/math/reward/mean@1:np.float64(0.31)'),
    'Training Progress:   0%|          | 0/4 [00:00<?, ?it/s]',
    stepLine(1, '0.25'),
    'Training Progress:  25%|##5       | 1/4 [00:02<00:07]\r' + stepLine(2, 'np.float64(0.375)'),
    ray('WARNING: something unrelated: value:3'),
    stepLine(3, '0.5').slice(0, 50),
  ].join('\n')
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('runs.importLog and runs.follow', () => {
  it('imports a verl console log as a verl run that remembers its source; the cut-off line waits', async () => {
    const { dir, store, call } = setUp()
    const log = join(dir, 'grpo-math.log')
    writeFileSync(log, consoleLog())
    expect(await call('runs.importLog', { path: log })).toEqual({ run: 1, steps: 3, metrics: 4, newSteps: 3 })
    const [summary] = await call('runs.list', {})
    expect(summary).toMatchObject({ id: 1, name: 'grpo-math', origin: 'verl', status: 'finished', steps: 2 })
    const detail = await call('runs.get', { run: 1 })
    expect(detail.environment.sources).toEqual([{ path: log, format: 'verl-console', offset: expect.any(Number) }])
    const series = metricSeries(store.db, 1)
    expect(series['critic/score/mean']).toEqual([
      [1, 0.25],
      [2, 0.375],
    ])
    expect(series['actor/kl_loss']).toEqual([
      [1, null],
      [2, null],
    ])

    // Completing the line and importing the path again appends to the same run.
    appendFileSync(log, stepLine(3, '0.5').slice(50) + '\n')
    expect(await call('runs.importLog', { path: log })).toEqual({ run: 1, steps: 4, metrics: 4, newSteps: 1 })
  })

  it('names an uploaded log by its own name and recognises an uploaded trainer_state.json', async () => {
    const { dir, call } = setUp()
    const upload = uploadPath(dir, 'trainer_state.json')
    mkdirSync(join(dir, 'uploads'), { recursive: true })
    writeFileSync(upload, JSON.stringify({ best_metric: null, log_history: [{ step: 5, reward: 0.2, kl: 0.01 }] }))
    const imported = await call('runs.importLog', { path: upload })
    expect(imported).toMatchObject({ run: 1, steps: 1 })
    expect((await call('runs.list', {}))[0]).toMatchObject({ name: 'trainer_state', origin: 'trl' })
  })

  it('refuses what it cannot do, naming the field or the file', async () => {
    const { dir, refuse } = setUp()
    const log = join(dir, 'a.log')
    writeFileSync(log, `${stepLine(1, '0.1')}\n`)
    expect(await refuse('runs.importLog', { path: log, name: 'x', run: 1 })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/give name .* or run .*, not both/),
    })
    expect(await refuse('runs.importLog', { path: log, run: 9 })).toMatchObject({ code: 'not_found' })
    expect(await refuse('runs.importLog', { path: join(dir, 'nope.log') })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/nope\.log: no such file or folder/),
    })
    expect(await refuse('runs.importLog', { path: log, format: 'tensorboard' })).toMatchObject({ code: 'invalid_request' })
  })

  it('follows a growing log every ~2 s until turned off, and stops when the host closes', async () => {
    const { dir, store, host, call, refuse } = setUp()
    const log = join(dir, 'cluster.log')
    writeFileSync(log, `${stepLine(1, '0.1')}\n`)
    const { run } = await call('runs.importLog', { path: log })
    expect(await call('runs.follow', { run, path: log, on: true })).toEqual({ following: [log] })
    expect(await call('runs.following', { run })).toEqual({ following: [log] })

    const steps = (): number => (metricSeries(store.db, run)['critic/score/mean'] ?? []).length
    appendFileSync(log, `${stepLine(2, '0.2')}\n${stepLine(3, '0.3')}\n`)
    await until(() => steps() === 3, 'the followed log to be re-read')

    expect(await call('runs.follow', { run, path: log, on: false })).toEqual({ following: [] })
    appendFileSync(log, `${stepLine(4, '0.4')}\n`)
    await sleep(2600)
    expect(steps()).toBe(3)

    // An upload never grows; a missing file fails at once rather than on every tick.
    expect(await refuse('runs.follow', { run, path: uploadPath(dir, 'x.log'), on: true })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/uploaded file does not grow/),
    })
    expect(await refuse('runs.follow', { run, path: join(dir, 'gone.log'), on: true })).toMatchObject({
      code: 'invalid_request',
    })

    await call('runs.follow', { run, path: log, on: true })
    await until(() => steps() === 4, 'following to resume')
    host.close()
    appendFileSync(log, `${stepLine(5, '0.5')}\n`)
    await sleep(2600)
    expect(steps()).toBe(4)
  })
})

/** A workspace with the demo dataset and local runs (exported without training). */
function withLocalRuns(setup: ReturnType<typeof setUp>, modes: ('ground_truth' | 'self_certainty')[]): number[] {
  const datasetId = ensureDemoDataset(setup.store.db)
  return modes.map((mode) => {
    const config = { ...defaultRunConfig(mode), name: `local-${mode}`, dataset: DEMO_DATASET_NAME }
    const id = createRun(setup.store.db, { name: config.name, mode, config, seed: 1, datasetId })
    updateRun(setup.store.db, id, { status: 'finished' })
    return id
  })
}

describe('runs.exportVerl', () => {
  it('writes a ground-truth run to <workspace>/exports with the fork, its mode keys and its files', async () => {
    const setup = setUp()
    const [gt] = withLocalRuns(setup, ['ground_truth'])
    const result = await setup.call('runs.exportVerl', { run: gt!, model: 'Qwen/Qwen3-1.7B-Base', gpus: 4 })
    expect(result.fork).toBe('Co-rewarding-II')
    expect(result.overrides).toEqual(
      expect.arrayContaining([
        'algorithm.adv_estimator=grpo',
        'reward_model.reward_manager=naive',
        'actor_rollout_ref.model.path=Qwen/Qwen3-1.7B-Base',
        'trainer.n_gpus_per_node=4',
        'data.train_batch_size=128',
      ]),
    )
    for (const override of result.overrides) expect(override).toMatch(/^[a-z_]+(\.[a-z_0-9]+)+=\S+$/)
    expect(result.files.script).toMatch(new RegExp(`^${join(setup.dir, 'exports', `verl-${gt}-`)}\\d{8}-\\d{6}/launch\\.sh$`))
    for (const file of [result.files.script, result.files.readme, result.files.validation, ...result.files.train])
      expect(existsSync(file), file).toBe(true)
    expect(readFileSync(result.files.script, 'utf8')).toContain('reward_model.reward_manager=naive')
  })

  it('refuses self-certainty runs and imported runs, leaving no folder behind', async () => {
    const setup = setUp()
    const [sc] = withLocalRuns(setup, ['self_certainty'])
    expect(await setup.refuse('runs.exportVerl', { run: sc, model: 'm' })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/neither Co-rewarding fork implements self-certainty/),
    })
    const log = join(setup.dir, 'v.log')
    writeFileSync(log, `${stepLine(1, '0.1')}\n`)
    const { run } = await setup.call('runs.importLog', { path: log })
    expect(await setup.refuse('runs.exportVerl', { run, model: 'm' })).toMatchObject({
      message: expect.stringMatching(/imported from verl; export a local run/),
    })
    expect(await setup.refuse('runs.exportVerl', { run: 99, model: 'm' })).toMatchObject({ code: 'not_found' })
    expect(await setup.refuse('runs.exportVerl', { run: sc, model: ' ' })).toMatchObject({ code: 'invalid_request' })
    expect(existsSync(join(setup.dir, 'exports'))).toBe(false)
  })
})

/** A finished local run with metrics (one NaN, one infinity), samples, an alert and a tagged and an untagged checkpoint. */
function trainedRun(setup: ReturnType<typeof setUp>): number {
  const { db } = setup.store
  const id = createRun(db, { name: 'moved run', mode: 'majority_voting', config: { name: 'moved run' }, seed: 3 })
  for (const step of [1, 2]) {
    recordStep(db, id, {
      step,
      wallTime: step * 1.5,
      tokens: step * 100,
      metrics: {
        'critic/score/mean': step / 4,
        'actor/kl_loss': step === 1 ? NaN : 0.01,
        'actor/grad_norm': step === 1 ? Infinity : 2,
      },
      samples: [{ groupIndex: 0, view: 'original', prompt: 'Q?', text: `\\boxed{${step}}`, answer: String(step), reward: 1 }],
    })
    const folder = join(setup.dir, 'runs', String(id), 'checkpoints', `step-${step}`)
    writeTinyCheckpoint(folder, step)
    addCheckpoint(db, id, step, folder, step === 2 ? ['latest'] : [])
  }
  addEvent(db, id, { level: 'warning', kind: 'alert', step: 2, message: 'entropy fell below 0.1', data: { rule: 'entropy' } })
  updateRun(db, id, { status: 'finished' })
  return id
}

describe('runs.bundle and runs.unbundle', () => {
  it('moves a run with its tagged checkpoint to another workspace, and an uploaded bundle is removed once stored', async () => {
    const source = setUp()
    const run = trainedRun(source)
    const bundled = await source.call('runs.bundle', { run, checkpoints: 'tagged' })
    expect(bundled).toEqual({ file: join(source.dir, 'exports', 'moved_run.tgz'), checkpoints: [2] })
    // A second bundle of the same name does not overwrite the first.
    const again = await source.call('runs.bundle', { run, checkpoints: 'none' })
    expect(again.file).not.toBe(bundled.file)
    expect(again.checkpoints).toEqual([])

    const target = setUp()
    const upload = uploadPath(target.dir, 'moved_run.tgz')
    mkdirSync(join(target.dir, 'uploads'), { recursive: true })
    writeFileSync(upload, readFileSync(bundled.file))
    const { run: moved, name } = await target.call('runs.unbundle', { path: upload })
    expect(name).toBe('moved run')
    expect(existsSync(upload)).toBe(false)
    expect(metricSeries(target.store.db, moved)).toEqual(metricSeries(source.store.db, run))
    expect(metricSeries(target.store.db, moved)['actor/kl_loss']![0]).toEqual([1, null])
    expect(metricSeries(target.store.db, moved)['actor/grad_norm']![0]).toEqual([1, Infinity])
    const detail = await target.call('runs.get', { run: moved })
    expect(detail).toMatchObject({ name: 'moved run', mode: 'majority_voting', status: 'finished', alerts: 1 })
    expect(detail.checkpoints.map((c) => [c.step, c.tags])).toEqual([[2, ['latest']]])
    expect(existsSync(join(detail.checkpoints[0]!.path, 'model.safetensors'))).toBe(true)
    expect((await target.call('rollouts.steps', { run: moved })).sort()).toEqual([1, 2])

    expect(await target.refuse('runs.unbundle', { path: join(target.dir, 'workbench.db') })).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/not a readable run bundle/),
    })
  })

  it('refuses to bundle a running run', async () => {
    const setup = setUp()
    const run = trainedRun(setup)
    updateRun(setup.store.db, run, { status: 'running' })
    expect(await setup.refuse('runs.bundle', { run, checkpoints: 'all' })).toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/stop it before bundling/),
    })
  })
})

describe('GET /api/download', () => {
  it('serves files under <workspace>/exports to the token holder and refuses every other path', async () => {
    const setup = setUp()
    const renderer = tempDir()
    cleanups.push(renderer.remove)
    const token = 'download-test-token'
    const server = await startServer({ host: '127.0.0.1', port: 0, token, rendererDir: renderer.dir, workbench: setup.host })
    cleanups.push(() => server.close())
    const run = trainedRun(setup)
    const { file } = await setup.call('runs.bundle', { run, checkpoints: 'none' })
    const get = (path: string, auth = true): Promise<Response> =>
      fetch(`${server.baseUrl}api/download?path=${encodeURIComponent(path)}`, {
        headers: auth ? { authorization: `Bearer ${token}` } : {},
      })

    const ok = await get(file)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-disposition')).toContain('filename="moved_run.tgz"')
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(readFileSync(file))

    expect((await get(file, false)).status).toBe(401)
    expect((await get(join(setup.dir, 'workbench.db'))).status).toBe(403)
    expect((await get(join(setup.dir, 'exports', '..', 'workbench.db'))).status).toBe(403)
    expect((await get('/etc/passwd')).status).toBe(403)
    expect((await get(join(setup.dir, 'exports'))).status).toBe(403) // the folder itself
    symlinkSync(join(setup.dir, 'workbench.db'), join(setup.dir, 'exports', 'escape.db'))
    expect((await get(join(setup.dir, 'exports', 'escape.db'))).status).toBe(403)
    expect((await get(join(setup.dir, 'exports', 'nothing.tgz'))).status).toBe(404)
    mkdirSync(join(setup.dir, 'exports', 'verl-1'))
    expect((await get(join(setup.dir, 'exports', 'verl-1'))).status).toBe(404)
    expect((await fetch(`${server.baseUrl}api/download`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404)
  })
})
