// Crash safety (issue 9): SIGKILL of the trainer, and of its whole host (`cwb train` or `cwb serve`), at 20 seeded
// points of one run, in every phase (rollout, scoring, update, validation, the checkpoint write, the store commit).
// The run is killed, checked, resumed (and killed again at the next point) until it ends; after every kill the store
// passes integrity_check, every stored step is whole and equal to an uninterrupted reference run's, the latest
// checkpoint loads, no trainer outlives its host, and a run whose host died reads as interrupted once the workspace
// is opened again. At the end the run must equal the reference (timing_s/* and perf/* excepted) within 1e-6.
// The kills come from the trainer's test-only CWB_FAULT knob (main/engine/trainer/faults.ts): a SIGKILL, sent from a
// helper thread MS milliseconds after the phase starts, of the trainer itself or of its parent, the host.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { KillPhase } from '../../main/engine/trainer/faults'
import { loadModel } from '../../main/engine/model/load'
import { Random } from '../../main/random'
import { openDatabase, type Db } from '../../main/store/database'
import { openWorkspace } from '../../main/services/open-workspace'
import { listRunCheckpoints } from '../../main/store/checkpoints'
import { metricSeries, type MetricSeries } from '../../main/store/metrics'
import { getRun } from '../../main/store/runs'
import { processAlive } from '../../main/store/workspace'
import { cliPath, root, serve, type Served } from '../helpers/cli'
import { writeTinyCheckpoint } from '../helpers/tiny-model'
import { tempDir } from '../helpers/workspace'

/** Kill points in `npm test` (CWB_CRASH_POINTS=N runs another number; the bench runs all 20 as well). */
const POINTS = Number(process.env.CWB_CRASH_POINTS ?? 20)
const STEPS = 24
const VALIDATION_EVERY = 4
const TOLERANCE = 1e-6
const PHASES: KillPhase[] = ['rollout', 'scoring', 'update', 'validation', 'checkpoint', 'commit']

interface KillPoint {
  step: number
  phase: KillPhase
  target: 'trainer' | 'owner'
  host: 'train' | 'serve'
  delayMs: number
}

/** 20 points at distinct steps (so each resumes past the previous one), phases and targets spread out, seeded. */
function killPlan(seed: number, count: number): KillPoint[] {
  const random = new Random(seed)
  const steps = random.shuffled(Array.from({ length: STEPS - 1 }, (_, i) => i + 1)).slice(0, count)
  steps.sort((a, b) => a - b)
  // Validation runs on every VALIDATION_EVERY-th step only: those steps get it, the others any other phase.
  const phases = random.shuffled(steps.map((_, i) => PHASES.filter((p) => p !== 'validation')[i % 5]!))
  return steps.map((step, i) => {
    const phase = step % VALIDATION_EVERY === 0 && random.next() < 0.5 ? 'validation' : phases[i]!
    const target = i % 2 === 0 ? 'owner' : 'trainer'
    // The run is created by `cwb train`; later hosts alternate between the CLI and the server.
    const host = i === 0 ? 'train' : random.next() < 0.5 ? 'train' : 'serve'
    // A checkpoint write or a commit lasts milliseconds: land inside it. Other phases last longer.
    const delayMs = phase === 'checkpoint' ? random.int(3) : phase === 'commit' ? random.int(6) : random.int(5)
    return { step, phase, target, host, delayMs }
  })
}

const config = (workspace: string): Record<string, unknown> => ({
  name: 'crash',
  mode: 'co_rewarding_ii',
  checkpoint: join(workspace, 'tiny'),
  steps: STEPS,
  batch_size: 2,
  rollouts: 2,
  max_response_tokens: 6,
  validation: { every: VALIDATION_EVERY, questions: 4 },
  checkpoint_every: 1,
  micro_batch_size: 8,
  sample_groups: 1,
})

function workspaceFor(dir: string): { workspace: string; config: string } {
  writeTinyCheckpoint(join(dir, 'tiny'))
  const file = join(dir, 'run.json')
  writeFileSync(file, JSON.stringify(config(dir)))
  return { workspace: dir, config: file }
}

const env = (fault?: string): NodeJS.ProcessEnv => ({
  ...process.env,
  CWB_WORKSPACE: '',
  CWB_TOKEN: '',
  CWB_DEMO: '',
  CWB_MAX_RUNS: '1',
  CWB_FAULT: fault ?? '',
})

function cwbTrain(
  args: string[],
  fault?: string,
): { child: ChildProcess; exited: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const child = spawn(process.execPath, [cliPath, 'train', ...args, '--json'], { cwd: root, env: env(fault) })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdout!.resume()
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  )
  return { child, exited }
}

async function call(served: Served, method: string, params: unknown): Promise<unknown> {
  const response = await fetch(`${served.base}api/call/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  })
  const reply = (await response.json()) as { ok: boolean; result?: unknown; error?: unknown }
  if (!reply.ok) throw new Error(`${method}: ${JSON.stringify(reply.error)}`)
  return reply.result
}

function readOnly(workspace: string): Db {
  return openDatabase(join(workspace, 'workbench.db'), { readonly: true })
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const compared = (key: string): boolean => !key.startsWith('timing_s/') && !key.startsWith('perf/')

/** Every stored step of `run` has exactly the reference's keys at that step, with its values (within 1e-6). */
function expectPrefixOf(series: MetricSeries, reference: MetricSeries, what: string): number {
  const byStep = (s: MetricSeries): Map<number, Map<string, number | null>> => {
    const steps = new Map<number, Map<string, number | null>>()
    for (const [key, points] of Object.entries(s)) {
      for (const [step, value] of points) {
        if (!steps.has(step)) steps.set(step, new Map())
        steps.get(step)!.set(key, value)
      }
    }
    return steps
  }
  const ours = byStep(series)
  const theirs = byStep(reference)
  const stored = [...ours.keys()].sort((a, b) => a - b)
  expect(stored, `${what}: stored steps`).toEqual(Array.from({ length: stored.length }, (_, i) => i))
  for (const step of stored) {
    const mine = ours.get(step)!
    const expected = theirs.get(step)!
    expect([...mine.keys()].sort(), `${what}: the keys of step ${step}`).toEqual([...expected.keys()].sort())
    for (const [key, value] of expected) {
      if (!compared(key)) continue
      const got = mine.get(key)
      if (value === null) expect(got, `${what}: step ${step} ${key}`).toBeNull()
      else
        expect(Math.abs(got! - value), `${what}: step ${step} ${key} = ${got}, reference ${value}`).toBeLessThanOrEqual(TOLERANCE)
    }
  }
  return stored.at(-1) ?? -1
}

const dirs: (() => void)[] = []
afterAll(() => dirs.forEach((remove) => remove()))

describe('crash safety', () => {
  it(`survives SIGKILL of the trainer and of its host at ${POINTS} seeded points, and resumes to the uninterrupted result`, async () => {
    const plan = killPlan(9, POINTS)
    const referenceDir = tempDir('cwb-crash-ref-')
    const crashDir = tempDir('cwb-crash-')
    dirs.push(referenceDir.remove, crashDir.remove)
    const reference = workspaceFor(referenceDir.dir)
    const { workspace, config: configFile } = workspaceFor(crashDir.dir)
    // The reference trains alongside the first kill point (two cores).
    const referenceRun = cwbTrain(['--config', reference.config, '--workspace', reference.workspace])
    let referenceSeries: MetricSeries | undefined
    const report: string[] = []
    let orphanWaitMax = 0

    for (const [i, point] of plan.entries()) {
      const fault = `kill-${point.target}@${point.step}:${point.phase}+${point.delayMs}`
      const label = `point ${i + 1} (${fault}, host cwb ${point.host})`
      let hostPid: number | undefined
      let served: Served | undefined
      let hostEnded: Promise<unknown>
      if (point.host === 'train') {
        const args = i === 0 ? ['--config', configFile] : ['--resume', '1']
        const host = cwbTrain([...args, '--workspace', workspace], fault)
        hostPid = host.child.pid
        hostEnded = host.exited
      } else {
        served = await serve(['--workspace', workspace], env(fault))
        hostPid = served.process.pid
        hostEnded = new Promise((resolve) => served!.process.on('exit', resolve))
        await call(served, 'runs.resume', { run: 1 })
      }

      if (point.target === 'owner') {
        // The host dies; its trainer must notice and exit.
        await hostEnded
        const db = readOnly(workspace)
        const trainerPid = getRun(db, 1)!.trainerPid
        db.close()
        expect(trainerPid, `${label}: the run's trainer pid`).not.toBeNull()
        const since = Date.now()
        await until(`${label}: the trainer ${trainerPid} to exit after its host died`, () => !processAlive(trainerPid!), 15_000)
        orphanWaitMax = Math.max(orphanWaitMax, Date.now() - since)
        // A trainer that outlived its host would have gone on to later steps and written their checkpoints.
        const folder = join(workspace, 'runs', '1', 'checkpoints')
        const onDisk = (existsSync(folder) ? readdirSync(folder) : [])
          .map((name) => /^step-(\d+)$/.exec(name)?.[1])
          .filter((step) => step !== undefined)
          .map(Number)
        expect(Math.max(0, ...onDisk), `${label}: checkpoints the trainer wrote after its host died`).toBeLessThanOrEqual(
          point.step,
        )
      } else if (served) {
        // The trainer dies; the server records the failure and stays up.
        await until(`${label}: the run to fail`, () => {
          const db = readOnly(workspace)
          const status = getRun(db, 1)!.status
          db.close()
          return status === 'failed'
        })
        expect(served.process.exitCode, `${label}: the server is still up`).toBeNull()
        expect((await call(served, 'app.info', {})) as object).toBeTruthy()
        await served.stop()
      } else {
        const { code, stderr } = (await hostEnded) as { code: number | null; stderr: string }
        expect(code, `${label}: cwb train reports the failed run`).toBe(1)
        expect(stderr).toMatch(/exited on SIGKILL/)
      }
      expect(processAlive(hostPid!), `${label}: the host is gone`).toBe(false)

      referenceSeries ??= await referenceRun.exited.then(({ code, stderr }) => {
        expect(code, `reference run: ${stderr}`).toBe(0)
        const { store } = openWorkspace(reference.workspace, false)
        const series = metricSeries(store.db, 1)
        store.close()
        return series
      })

      // Opening the workspace again, as the next start does.
      const { store } = openWorkspace(workspace, false)
      const run = getRun(store.db, 1)!
      expect(run.status, `${label}: the run's status after reopening`).toBe(point.target === 'owner' ? 'interrupted' : 'failed')
      expect(store.db.pragma('integrity_check', { simple: true }), `${label}: integrity_check`).toBe('ok')
      expect(store.db.pragma('foreign_key_check'), `${label}: foreign_key_check`).toEqual([])
      const lastStored = expectPrefixOf(metricSeries(store.db, 1), referenceSeries!, label)
      const checkpoints = listRunCheckpoints(store.db, 1)
      store.close()
      const latest = checkpoints.at(-1)
      if (latest) {
        expect(latest.step, `${label}: the latest checkpoint is of a stored step`).toBeLessThanOrEqual(lastStored)
        const model = loadModel(latest.path, { extraTensors: ['optimizer.safetensors', 'teacher.safetensors'] })
        expect((model.trainerState as { step: number }).step).toBe(latest.step)
        model.transformer.dispose()
      }
      report.push(`${label}: stored steps 0-${lastStored}, latest checkpoint ${latest?.step ?? 'none'}`)
    }

    const final = cwbTrain(['--resume', '1', '--workspace', workspace])
    const { code, stderr } = await final.exited
    expect(code, stderr).toBe(0)
    const { store } = openWorkspace(workspace, false)
    expect(getRun(store.db, 1)!.status).toBe('finished')
    expect(expectPrefixOf(metricSeries(store.db, 1), referenceSeries!, 'the resumed run')).toBe(STEPS)
    expect(Object.keys(metricSeries(store.db, 1)).sort()).toEqual(Object.keys(referenceSeries!).sort())
    expect(listRunCheckpoints(store.db, 1).map((c) => c.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1))
    store.close()
    console.log(`${report.join('\n')}\nlongest wait for a trainer to exit after its host died: ${orphanWaitMax} ms`)
  }, 600_000)
})
