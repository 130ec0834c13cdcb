// `cwb train` end to end: a real trainer process on a tiny model over the stored demo dataset, writing the
// real SQLite store; stop, resume, a crashing trainer, and a bad config.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listRunCheckpoints } from '../../main/store/checkpoints'
import { runEvents } from '../../main/store/events'
import { metricSeries } from '../../main/store/metrics'
import { getRun, requestStop } from '../../main/store/runs'
import { Store } from '../../main/store/store'
import { processAlive } from '../../main/store/workspace'
import { cliPath, cwb, lastJson, root } from '../helpers/cli'
import { writeTinyRun } from '../helpers/tiny-model'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const withDemo = { CWB_DEMO: '' }

function setUp(overrides: Record<string, unknown> = {}): { workspace: string; config: string } {
  const workspace = folder()
  return { workspace, config: writeTinyRun(workspace, 'tiny-gt', overrides) }
}

/** Starts `cwb train` in the background and resolves once it reports `step N/total` on stderr. */
async function trainUntil(workspace: string, config: string, pattern: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cliPath, 'train', '--config', config, '--workspace', workspace, '--json'], {
    cwd: root,
    env: { ...process.env, CWB_DEMO: '' },
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  await expect.poll(() => pattern.test(stderr), { timeout: 60_000, interval: 50 }).toBe(true)
  return child
}

describe('cwb train', () => {
  it('trains a run in a trainer process and stores its metrics, rollouts and checkpoints', () => {
    const { workspace, config } = setUp({ mode: 'co_rewarding_i', name: 'tiny-co1' })
    const result = cwb(['train', '--config', config, '--workspace', workspace, '--json'], withDemo)
    expect(result.stderr).toMatch(/step 3\/3 {2}reward /)
    expect(result.code).toBe(0)
    expect(lastJson(result.stdout)).toMatchObject({
      run: 1,
      status: 'finished',
      steps: 3,
      final: { 'critic/score_aug/mean': expect.any(Number) },
    })
    const store = new Store(join(workspace, 'workbench.db'))
    const run = getRun(store.db, 1)!
    expect(run).toMatchObject({ name: 'tiny-co1', mode: 'co_rewarding_i', status: 'finished', backend: 'wasm', trainerPid: null })
    expect(run.environment).toMatchObject({ workbench: expect.any(String), node: process.versions.node, seed: 1 })
    const series = metricSeries(store.db, 1)
    expect(series['critic/score/mean']!.map(([step]) => step)).toEqual([1, 2, 3])
    expect(series['val-core/demo-arithmetic/reward/mean@1']!.map(([step]) => step)).toEqual([0, 2, 3])
    expect(listRunCheckpoints(store.db, 1).map((c) => c.step)).toEqual([2, 3])
    const views = store.db.prepare('SELECT view, COUNT(*) AS n FROM samples WHERE run_id = 1 AND step = 1 GROUP BY view').all()
    expect(views).toEqual([
      { view: 'original', n: 8 },
      { view: 'paraphrase', n: 8 },
    ])
    store.close()
    const metrics = lastJson(cwb(['metrics', '1', '--key', 'critic/score/mean', '--workspace', workspace, '--json']).stdout)
    expect(metrics).toEqual({ run: 1, series: { 'critic/score/mean': series['critic/score/mean'] } })
    expect(cwb(['runs', '--workspace', workspace]).stdout).toMatch(/1\s+tiny-co1\s+co_rewarding_i\s+finished\s+3/)
  })

  it('keeps only the last K checkpoints (keep_checkpoints), deleting the others and their folders', () => {
    const { workspace, config } = setUp({ steps: 6, checkpoint_every: 1, keep_checkpoints: 2 })
    expect(cwb(['train', '--config', config, '--workspace', workspace], withDemo).code).toBe(0)
    const store = new Store(join(workspace, 'workbench.db'))
    expect(listRunCheckpoints(store.db, 1).map((c) => c.step)).toEqual([5, 6])
    store.close()
    expect(existsSync(join(workspace, 'runs/1/checkpoints/step-4'))).toBe(false)
    expect(existsSync(join(workspace, 'runs/1/checkpoints/step-5/model.safetensors'))).toBe(true)
  })

  it('stops after the current step with a checkpoint when asked, then resumes to the end', async () => {
    const { workspace, config } = setUp({ steps: 30, checkpoint_every: 50 })
    const child = await trainUntil(workspace, config, /step 2\/30/)
    const running = new Store(join(workspace, 'workbench.db'))
    requestStop(running.db, 1)
    running.close()
    const code = await new Promise((resolve) => child.on('exit', resolve))
    expect(code).toBe(0)
    const store = new Store(join(workspace, 'workbench.db'))
    const stopped = getRun(store.db, 1)!
    expect(stopped.status).toBe('stopped')
    const stopStep = listRunCheckpoints(store.db, 1).at(-1)!.step
    expect(stopStep).toBeGreaterThanOrEqual(2)
    expect(stopStep).toBeLessThan(30)
    store.close()

    const resumed = cwb(['train', '--resume', '1', '--workspace', workspace, '--json'])
    expect(resumed.stderr).toContain(`Resuming run 1 from step ${stopStep}`)
    expect(lastJson(resumed.stdout)).toMatchObject({ run: 1, status: 'finished', steps: 30 })
    const after = new Store(join(workspace, 'workbench.db'))
    expect(metricSeries(after.db, 1)['critic/score/mean']!.map(([step]) => step)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    )
    after.close()
  })

  it('marks the run failed with the error when the trainer fails, and keeps the owner alive', () => {
    const { workspace, config } = setUp()
    writeFileSync(join(workspace, 'tiny', 'model.safetensors'), 'not a safetensors file')
    const result = cwb(['train', '--config', config, '--workspace', workspace, '--json'], withDemo)
    expect(result.code).toBe(1)
    expect(lastJson(result.stdout)).toMatchObject({ run: 1, status: 'failed' })
    const store = new Store(join(workspace, 'workbench.db'))
    expect(getRun(store.db, 1)!.status).toBe('failed')
    expect(runEvents(store.db, 1).some((e) => e.level === 'error' && /model\.safetensors/.test(e.message))).toBe(true)
    store.close()
  })

  it('refuses a bad config naming the field and the reason, before creating a run', () => {
    const { workspace, config } = setUp({ rollouts: 1 })
    const result = cwb(['train', '--config', config, '--workspace', workspace], withDemo)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/run\.json: rollouts: must be at least 2$/m)
    const unknown = setUp({ mode: 'vibes' })
    expect(cwb(['train', '--config', unknown.config, '--workspace', unknown.workspace], withDemo).stderr).toMatch(
      /mode: must be one of "ground_truth", .*, not "vibes"$/m,
    )
    expect(readFileSync(config, 'utf8')).toContain('"rollouts":1')
  })

  it('prints a complete default config for every mode that validates as is', () => {
    for (const mode of ['ground_truth', 'majority_voting', 'self_certainty', 'entropy', 'co_rewarding_i', 'co_rewarding_ii']) {
      const printed = cwb(['train', '--print-config', mode])
      expect(printed.code).toBe(0)
      const dir = folder()
      writeFileSync(join(dir, 'c.json'), printed.stdout)
      const config = JSON.parse(printed.stdout) as { mode: string; kl: { coef: number }; ema?: object }
      expect(config.mode).toBe(mode)
      expect(config.kl.coef).toBe(mode === 'co_rewarding_i' ? 0.005 : 0.001)
      expect(config.ema !== undefined).toBe(mode === 'co_rewarding_ii')
    }
  })

  it('ends the trainer when its owner dies, and marks the run interrupted at the next start-up, ready to resume', async () => {
    const { workspace, config } = setUp({ steps: 40, checkpoint_every: 2 })
    const child = await trainUntil(workspace, config, /step 3\/40/)
    const store = new Store(join(workspace, 'workbench.db'))
    const trainerPid = getRun(store.db, 1)!.trainerPid!
    store.close()
    child.kill('SIGKILL')
    await expect.poll(() => processAlive(trainerPid), { timeout: 10_000 }).toBe(false)
    const listed = JSON.parse(cwb(['runs', '--workspace', workspace, '--json']).stdout.trimEnd().split('\n').at(-1)!) as {
      runs: { status: string }[]
    }
    expect(listed.runs[0]!.status).toBe('interrupted')
    const resumed = cwb(['train', '--resume', '1', '--workspace', workspace, '--json'])
    expect(lastJson(resumed.stdout)).toMatchObject({ status: 'finished', steps: 40 })
  })

  it('kills a running trainer at once with cwb stop --kill, and the run is marked failed with the reason', async () => {
    const { workspace, config } = setUp({ steps: 200 })
    const child = await trainUntil(workspace, config, /step 2\/200/)
    expect(cwb(['stop', '1', '--kill', '--workspace', workspace]).stdout).toMatch(/^Killed the trainer of run 1/)
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(1)
    const store = new Store(join(workspace, 'workbench.db'))
    expect(getRun(store.db, 1)!.status).toBe('failed')
    expect(runEvents(store.db, 1).some((e) => /exited on SIGKILL/.test(e.message))).toBe(true)
    store.close()
  })
})
