// A full disk (issue 9): imports, checkpoint writes and metric writes fail with an error that says the disk is full
// and what to do, nothing already stored is damaged, and everything works again once space is freed.
// For real: a small tmpfs mounted as the workspace (or as its runs/ folder) and filled to the last byte, with the
// built CLI. These machines run tests as root; where mounting is not permitted those tests skip, saying why.
// Without a mount: SQLite's max_page_count caps the store, which then fails exactly as on a full disk (SQLITE_FULL).
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DEMO_TASK_DEFAULTS, generateDemoTask } from '../../main/data/demo/generator'
import { importDataset } from '../../main/data/import/import'
import type { RunConfig } from '../../main/engine/run-config'
import { parseRunConfig } from '../../main/engine/run-config'
import { openDatabase } from '../../main/store/database'
import { openWorkspace } from '../../main/services/open-workspace'
import { listRunCheckpoints } from '../../main/store/checkpoints'
import { runEvents } from '../../main/store/events'
import { metricSeries } from '../../main/store/metrics'
import { getRun } from '../../main/store/runs'
import { Store } from '../../main/store/store'
import { processAlive } from '../../main/store/workspace'
import { resumeRun, trainNewRun } from '../../main/services/run-owner'
import { cliPath, cwb, root } from '../helpers/cli'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { freshDirs } from '../helpers/workspace'

const folder = freshDirs()
const unmounts: (() => void)[] = []
afterEach(() => unmounts.splice(0).forEach((unmount) => unmount()))

/** Why a tmpfs cannot be mounted here (undefined when it can). */
function mountProblem(): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux'
  const probe = folder()
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { encoding: 'utf8' })
  if (mounted.status !== 0)
    return `mount -t tmpfs is not permitted here (${(mounted.stderr || mounted.error?.message || '').trim()}); run the tests as root`
  spawnSync('umount', [probe])
  return undefined
}
const cannotMount = mountProblem()
if (cannotMount) console.warn(`disk-full tests on a tmpfs are skipped: ${cannotMount}`)
const onTmpfs = cannotMount ? it.skip : it

function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true })
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' })
  if (mounted.status !== 0) throw new Error(`mount ${dir}: ${mounted.stderr}`)
  unmounts.push(() => spawnSync('umount', ['-l', dir]))
}

/** Writes `dir/filler` until the disk is full; returns the bytes written. */
function fill(dir: string): number {
  const fd = openSync(join(dir, 'filler'), 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  let bytes = 0
  try {
    for (;;) {
      try {
        bytes += writeSync(fd, chunk)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
        // Fill the last partial chunk too.
        for (let size = chunk.length / 2; size >= 1; size /= 2) {
          try {
            bytes += writeSync(fd, chunk, 0, size)
          } catch {
            // this size does not fit; try half of it
          }
        }
        return bytes
      }
    }
  } finally {
    closeSync(fd)
  }
}

/** A small dataset of demo problems (train and validation splits) as JSONL, outside the workspace. */
function datasetFile(dir: string, name = 'arith'): string {
  const task = generateDemoTask({ ...DEMO_TASK_DEFAULTS, train: 40, validation: 8, test: 0 })
  const file = join(dir, `${name}.jsonl`)
  writeFileSync(
    file,
    task.records.map((r) => JSON.stringify({ question: r.question, answer: r.answer, split: r.split })).join('\n'),
  )
  return file
}

function runConfig(dir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  writeTinyCheckpoint(join(dir, 'tiny'))
  return {
    name: 'full',
    mode: 'ground_truth',
    dataset: 'arith',
    checkpoint: join(dir, 'tiny'),
    steps: 6,
    batch_size: 2,
    rollouts: 2,
    max_response_tokens: 6,
    validation: { every: 100, questions: 4 },
    checkpoint_every: 2,
    micro_batch_size: 8,
    ...overrides,
  }
}

function integrity(workspace: string): unknown {
  const db = openDatabase(join(workspace, 'workbench.db'), { readonly: true })
  try {
    return db.pragma('integrity_check', { simple: true })
  } finally {
    db.close()
  }
}

/** Each stored step of the run has the same metric keys as step 1 (validation keys aside): no step is half-written. */
function expectWholeSteps(db: Store['db'], run: number): number[] {
  const rows = db
    .prepare(
      `SELECT step, COUNT(*) AS n FROM metrics WHERE run_id = ? AND key NOT LIKE 'val-core/%' AND key NOT LIKE 'timing_s/testing' AND step > 0 GROUP BY step ORDER BY step`,
    )
    .all(run) as { step: number; n: number }[]
  expect(new Set(rows.map((r) => r.n)).size).toBe(1)
  return rows.map((r) => r.step)
}

const env = { CWB_DEMO: '0' }

describe('a full disk', () => {
  onTmpfs('refuses an import with "the disk is full", keeps the datasets, and imports once space is freed', () => {
    const outside = folder()
    const mount = join(folder(), 'mnt')
    mountTmpfs(mount, '8m')
    const workspace = join(mount, 'ws')
    expect(cwb(['import', datasetFile(outside), '--workspace', workspace], env).code).toBe(0)
    const other = datasetFile(outside, 'more')
    // With nothing holding the store open, SQLite cannot even open it on a full disk (it needs room for workbench.db-shm).
    fill(mount)
    const cold = cwb(['import', other, '--workspace', workspace], env)
    expect(cold.code).toBe(1)
    expect(cold.stderr).toMatch(
      /^cwb: error: Cannot open the store \S+workbench\.db: the disk is full \(.+\)\. .*free space on that disk/,
    )
    expect(cold.stderr.trim().split('\n')).toHaveLength(1)
    rmSync(join(mount, 'filler'))
    // With the app (or `cwb serve`) holding the workspace open, the store opens and the import's write fails.
    const app = new Store(join(workspace, 'workbench.db'))
    fill(mount)
    const refused = cwb(['import', other, '--workspace', workspace], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split('\n').at(-1)).toMatch(
      /^cwb: error: Cannot import \S*more\.jsonl: the disk is full \(database or disk is full\); nothing was stored and the datasets already there are intact\. Free space on the disk holding the workspace, then import again\.$/,
    )
    app.close()
    rmSync(join(mount, 'filler'))
    expect(integrity(workspace)).toBe('ok')
    const listed = cwb(['datasets', '--workspace', workspace, '--json'], env)
    expect(listed.stdout).toMatch(/"arith"/)
    expect(listed.stdout).not.toMatch(/"more"/)
    expect(cwb(['import', other, '--workspace', workspace], env).code).toBe(0)
  })

  onTmpfs(
    'fails a run whose checkpoint cannot be written, keeps what it stored, and resumes once space is freed',
    async () => {
      const workspace = folder()
      const runs = join(workspace, 'runs')
      mountTmpfs(runs, '1m')
      expect(cwb(['import', datasetFile(workspace), '--workspace', workspace], env).code).toBe(0)
      const config = join(workspace, 'run.json')
      writeFileSync(config, JSON.stringify(runConfig(workspace)))
      const child = spawn(process.execPath, [cliPath, 'train', '--config', config, '--workspace', workspace], {
        cwd: root,
        env: { ...process.env, CWB_WORKSPACE: '', ...env },
      })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      // Fill the disk as soon as the first checkpoint is there: the next one (step 4) finds no space.
      const first = join(runs, '1', 'checkpoints', 'step-2')
      await expect.poll(() => existsSync(first), { timeout: 60_000, interval: 2 }).toBe(true)
      fill(runs)
      const code = await new Promise((resolve) => child.on('exit', resolve))
      expect(code).toBe(1)
      expect(stderr).toMatch(/Run 1 failed: Cannot write checkpoint \S+step-4: the disk is full \(ENOSPC/)
      expect(stderr).toMatch(/earlier checkpoints are intact\. Free space on that disk/)
      expect(readdirSync(join(runs, '1', 'checkpoints'))).toEqual(['step-2'])
      expect(integrity(workspace)).toBe('ok')
      const store = new Store(join(workspace, 'workbench.db'))
      expect(getRun(store.db, 1)!.status).toBe('failed')
      expect(expectWholeSteps(store.db, 1)).toEqual([1, 2, 3, 4])
      expect(listRunCheckpoints(store.db, 1).map((c) => c.step)).toEqual([2])
      expect(runEvents(store.db, 1).some((e) => e.level === 'error' && /the disk is full/.test(e.message))).toBe(true)
      store.close()

      rmSync(join(runs, 'filler'))
      const resumed = cwb(['train', '--resume', '1', '--workspace', workspace, '--json'], env)
      expect(resumed.stderr).toContain('Resuming run 1 from step 2')
      expect(resumed.code).toBe(0)
      const after = new Store(join(workspace, 'workbench.db'))
      expect(expectWholeSteps(after.db, 1)).toEqual([1, 2, 3, 4, 5, 6])
      after.close()
    },
    120_000,
  )

  onTmpfs(
    'fails a run whose metrics cannot be stored, ends its trainer, and resumes once space is freed',
    async () => {
      const mount = join(folder(), 'mnt')
      mountTmpfs(mount, '8m')
      const workspace = join(mount, 'ws')
      const outside = folder()
      expect(cwb(['import', datasetFile(outside), '--workspace', workspace], env).code).toBe(0)
      const config = join(outside, 'run.json')
      writeFileSync(config, JSON.stringify(runConfig(outside, { steps: 40 })))
      const child = spawn(process.execPath, [cliPath, 'train', '--config', config, '--workspace', workspace], {
        cwd: root,
        env: { ...process.env, CWB_WORKSPACE: '', ...env },
      })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      await expect.poll(() => /step 3\/40/.test(stderr), { timeout: 60_000, interval: 5 }).toBe(true)
      const db = openDatabase(join(workspace, 'workbench.db'), { readonly: true })
      const trainerPid = getRun(db, 1)!.trainerPid!
      db.close()
      fill(mount)
      const code = await new Promise((resolve) => child.on('exit', resolve))
      expect(code).toBe(1)
      expect(stderr).toMatch(/Run 1 failed: Cannot write run 1's .* to the store: the disk is full \(database or disk is full\)/)
      expect(stderr).toMatch(/the steps stored before are intact\. Free space on the disk holding \S+, then resume the run/)
      await expect.poll(() => processAlive(trainerPid), { timeout: 10_000 }).toBe(false)

      rmSync(join(mount, 'filler'))
      expect(integrity(workspace)).toBe('ok')
      // Reopened with space again: the run whose owner could not record its end is interrupted, ready to resume.
      const { store } = openWorkspace(workspace, false)
      expect(getRun(store.db, 1)!.status).toMatch(/^(interrupted|failed)$/)
      const stored = expectWholeSteps(store.db, 1)
      expect(stored.length).toBeGreaterThanOrEqual(3)
      store.close()
      const resumed = cwb(['train', '--resume', '1', '--workspace', workspace, '--json'], env)
      expect(resumed.code).toBe(0)
      const after = new Store(join(workspace, 'workbench.db'))
      expect(expectWholeSteps(after.db, 1)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
      after.close()
    },
    180_000,
  )

  it('refuses an import into a store at its size limit (max_page_count), keeping it intact, and imports once it may grow', async () => {
    const dir = folder()
    const store = new Store(join(dir, 'workbench.db'))
    await importDataset(store.db, { path: datasetFile(dir) })
    const pages = store.db.pragma('page_count', { simple: true }) as number
    store.db.pragma(`max_page_count = ${pages}`)
    await expect(importDataset(store.db, { path: datasetFile(dir, 'more') })).rejects.toThrow(
      /Cannot import \S+more\.jsonl: the disk is full \(database or disk is full\); nothing was stored and the datasets already there are intact/,
    )
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(store.listDatasets().map((d) => d.name)).toEqual(['arith'])
    store.db.pragma('max_page_count = 1073741823')
    await importDataset(store.db, { path: datasetFile(dir, 'more') })
    expect(
      store
        .listDatasets()
        .map((d) => d.name)
        .sort(),
    ).toEqual(['arith', 'more'])
    store.close()
  })

  it('fails a run whose store hits its size limit mid-run without crashing the host, and records the end once it may grow', async () => {
    const dir = folder()
    const store = new Store(join(dir, 'workbench.db'))
    await importDataset(store.db, { path: datasetFile(dir) })
    const config = parseRunConfig(runConfig(dir, { steps: 30 }), 'test config') as RunConfig
    const outcome = await trainNewRun(config, {
      db: store.db,
      workspace: dir,
      onProgress: (p) => {
        if (p.phase === 'done' && p.step === 3)
          store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true })}`)
      },
    })
    expect(outcome.status).toBe('failed')
    expect(outcome.error).toMatch(
      /^Cannot write run 1's .* to the store: the disk is full \(database or disk is full\)\. The run stops/,
    )
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok')
    const stored = expectWholeSteps(store.db, 1)
    expect(stored.slice(0, 3)).toEqual([1, 2, 3])
    // Room again: the host records the run's failure on its own (it retries), and the run resumes.
    store.db.pragma('max_page_count = 1073741823')
    await expect.poll(() => getRun(store.db, 1)!.status, { timeout: 10_000, interval: 100 }).toBe('failed')
    expect(runEvents(store.db, 1).some((e) => e.level === 'error' && /the disk is full/.test(e.message))).toBe(true)
    const resumed = await resumeRun('1', { db: store.db, workspace: dir })
    expect(resumed).toMatchObject({ status: 'finished', steps: 30 })
    expect(expectWholeSteps(store.db, 1)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(Object.keys(metricSeries(store.db, 1))).toContain('actor/pg_loss')
    store.close()
  }, 120_000)
})
