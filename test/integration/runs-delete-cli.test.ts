// `cwb runs` and `cwb runs delete` through the built CLI on a real workspace: the list shows the latest held-out
// accuracy and training score; on delete rows and folders go, live runs and unknown or ambiguous names are refused
// with one line.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { addCheckpoint } from '../../main/store/checkpoints'
import { addEvent } from '../../main/store/events'
import { metricSeries } from '../../main/store/metrics'
import { createRun, getRun, updateRun, type RunStatus } from '../../main/store/runs'
import { recordStep } from '../../main/store/steps'
import { Store } from '../../main/store/store'
import { cwb, lastJson } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()

/** A workspace with one run per entry of `runs` (ids from 1), each with a step, an event and a checkpoint folder. */
function workspaceWith(runs: { name: string; status: RunStatus }[]): { dir: string; store: () => Store } {
  const dir = freshDir()
  const store = (): Store => new Store(join(dir, 'workbench.db'))
  const db = store()
  for (const { name, status } of runs) {
    const id = createRun(db.db, { name, mode: 'ground_truth', config: {}, seed: 0 })
    updateRun(db.db, id, { status })
    recordStep(db.db, id, {
      step: 1,
      wallTime: 1,
      tokens: 1,
      metrics: { 'critic/score/mean': 0.5 },
      samples: [{ groupIndex: 0, view: 'original', prompt: 'q', text: 't', answer: '4', reward: 1 }],
    })
    addEvent(db.db, id, { level: 'info', kind: 'log', message: 'hello' })
    const checkpoint = join(dir, 'runs', String(id), 'checkpoints', 'step-1')
    mkdirSync(checkpoint, { recursive: true })
    writeFileSync(join(checkpoint, 'model.safetensors'), Buffer.alloc(1000))
    addCheckpoint(db.db, id, 1, checkpoint)
  }
  db.close()
  return { dir, store }
}

const rowsOfRun = (store: Store, run: number): number[] =>
  ['metrics', 'samples', 'events', 'checkpoints'].map(
    (table) => store.db.prepare(`SELECT COUNT(*) FROM ${table} WHERE run_id = ?`).pluck().get(run) as number,
  )

describe('cwb runs', () => {
  it('lists each run with its held-out accuracy at the last validated step and its latest training score', () => {
    const { dir, store } = workspaceWith([
      { name: 'validated', status: 'finished' },
      { name: 'unvalidated', status: 'failed' },
    ])
    const db = store()
    recordStep(db.db, 1, { step: 2, wallTime: 2, tokens: 2, metrics: { 'val-core/demo/reward/mean@1': 0.625 }, samples: [] })
    db.close()
    const result = cwb(['runs', '--workspace', dir])
    expect(result.code).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^ID\s+NAME\s+MODE\s+STATUS\s+STEPS\s+HELD-OUT\s+REWARD\s+CREATED$/)
    expect(lines[1]).toMatch(/^2\s+unvalidated\s+ground_truth\s+failed\s+1\s+-\s+0\.5\s/)
    expect(lines[2]).toMatch(/^1\s+validated\s+ground_truth\s+finished\s+2\s+62\.5% @2\s+0\.5\s/)
    const listed = lastJson(cwb(['runs', '--workspace', dir, '--json']).stdout) as { runs: Record<string, unknown>[] }
    expect(listed.runs.map(({ heldOut, heldOutStep, reward }) => ({ heldOut, heldOutStep, reward }))).toEqual([
      { heldOut: null, heldOutStep: null, reward: 0.5 },
      { heldOut: 0.625, heldOutStep: 2, reward: 0.5 },
    ])
  })
})

describe('cwb runs delete', () => {
  it('deletes a run with its metrics, samples, events, checkpoints and folder, and leaves the other runs alone', () => {
    const { dir, store } = workspaceWith([
      { name: 'keep', status: 'finished' },
      { name: 'drop', status: 'failed' },
    ])
    const result = cwb(['runs', 'delete', '2', '--workspace', dir, '--json'])
    expect(result.code).toBe(0)
    expect(lastJson(result.stdout)).toEqual({ run: 2, name: 'drop', freedBytes: 1000 })
    expect(existsSync(join(dir, 'runs', '2'))).toBe(false)
    expect(existsSync(join(dir, 'runs', '1', 'checkpoints', 'step-1'))).toBe(true)
    const after = store()
    expect(getRun(after.db, 2)).toBeUndefined()
    expect(rowsOfRun(after, 2)).toEqual([0, 0, 0, 0])
    expect(rowsOfRun(after, 1)).toEqual([1, 1, 1, 1])
    expect(metricSeries(after.db, 1)).toEqual({ 'critic/score/mean': [[1, 0.5]] })
    // The deleted run's id is not handed out again: links to run 2 keep finding nothing.
    expect(createRun(after.db, { name: 'next', mode: 'ground_truth', config: {}, seed: 0 })).toBe(3)
    after.close()
  })

  it('deletes a run named by its name, saying what it deleted', () => {
    const { dir } = workspaceWith([{ name: 'smoke', status: 'stopped' }])
    const result = cwb(['runs', '--workspace', dir, 'delete', 'smoke'])
    expect(result).toMatchObject({ code: 0, stderr: '' })
    expect(result.stdout).toBe('Deleted run 1 "smoke" with its data (1000 bytes freed).\n')
    expect(cwb(['runs', '--workspace', dir]).stdout).toBe(`No runs yet in ${dir}.\n`)
  })

  it('refuses a run that is queued, running or stopping with the message the app gives, keeping all of it', () => {
    const { dir, store } = workspaceWith([
      { name: 'waiting', status: 'queued' },
      { name: 'training', status: 'running' },
      { name: 'ending', status: 'stopping' },
    ])
    for (const [id, name, status] of [
      [1, 'waiting', 'queued'],
      [2, 'training', 'running'],
      [3, 'ending', 'stopping'],
    ] as const) {
      const result = cwb(['runs', 'delete', String(id), '--workspace', dir])
      expect(result.code).toBe(1)
      expect(result.stderr).toBe(`cwb: error: Run ${id} ("${name}") is ${status}; stop it before deleting it.\n`)
    }
    const after = store()
    for (const id of [1, 2, 3]) expect(rowsOfRun(after, id)).toEqual([1, 1, 1, 1])
    after.close()
    expect(existsSync(join(dir, 'runs', '2', 'checkpoints', 'step-1'))).toBe(true)
  })

  it('names the run it cannot find, and refuses a name several runs share', () => {
    const { dir } = workspaceWith([
      { name: 'gt', status: 'finished' },
      { name: 'gt', status: 'finished' },
    ])
    expect(cwb(['runs', 'delete', '7', '--workspace', dir])).toMatchObject({
      code: 1,
      stderr: `cwb: error: No run "7" in ${dir}; \`cwb runs\` lists them.\n`,
    })
    expect(cwb(['runs', 'delete', 'nobody', '--workspace', dir]).stderr).toBe(
      `cwb: error: No run "nobody" in ${dir}; \`cwb runs\` lists them.\n`,
    )
    expect(cwb(['runs', 'delete', 'gt', '--workspace', dir])).toMatchObject({
      code: 1,
      stderr: 'cwb: error: 2 runs are named "gt" (ids 1, 2); pass the id of the one to delete.\n',
    })
    expect(lastJson(cwb(['runs', '--workspace', dir, '--json']).stdout).runs).toHaveLength(2)
  })

  it('exits 2 with one line when the run is missing or an option is unknown', () => {
    for (const args of [
      ['runs', 'delete'],
      ['runs', 'delete', '1', '--bogus'],
    ]) {
      const result = cwb(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(/^cwb runs delete: error: [^\n]+\n$/)
    }
  })
})
