// `cwb demo --study` on a tiny study (two modes, one seed, three steps, four held-out questions): killed while its
// second run trains, the same command continues it (the finished run kept, the killed one resumed from its
// checkpoint), writes the report, the CSV and the charts, and prints the report's path with --json; run once more,
// it trains nothing and reports the same numbers.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../main/store/database'
import { listRunCheckpoints } from '../../main/store/checkpoints'
import { runEvents } from '../../main/store/events'
import { metricSeries } from '../../main/store/metrics'
import { getRun } from '../../main/store/runs'
import { assertBuilt, cliPath, lastJson, root } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const tempDir = freshDirs()

const studyArgs = (workspace: string): string[] => [
  'demo',
  '--study',
  '--workspace',
  workspace,
  '--modes',
  'ground_truth,majority_voting',
  '--seeds',
  '1',
  '--ablation-seeds',
  '0',
  '--steps',
  '3',
  '--questions',
  '4',
  '--validate-every',
  '1',
  '--parallel',
  '1',
  '--json',
]

const env = { ...process.env, CWB_WORKSPACE: '', CWB_DEMO: '1' }

/** Starts the study and kills it (SIGKILL) once its second run has a checkpoint and has not finished. */
async function killDuringSecondRun(workspace: string): Promise<string> {
  const child = spawn(process.execPath, [cliPath, ...studyArgs(workspace)], { cwd: root, env })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const database = join(workspace, 'workbench.db')
  const deadline = Date.now() + 150_000
  while (Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    if (!existsSync(database)) continue
    const db = openDatabase(database)
    try {
      const second = getRun(db, 2)
      if (second && second.status === 'running' && listRunCheckpoints(db, 2).length > 0) break
    } finally {
      db.close()
    }
  }
  child.kill('SIGKILL')
  await exited
  return stderr
}

describe('cwb demo --study', () => {
  it('continues a killed study where it stopped and writes its report, CSV and charts', { timeout: 300_000 }, async () => {
    assertBuilt()
    const workspace = tempDir()
    const first = await killDuringSecondRun(workspace)
    expect(first).toMatch(/ground_truth\/seed1: run 1 finished/)
    expect(first).not.toMatch(/majority_voting\/seed1: run 2 finished/)

    const again = spawnSync(process.execPath, [cliPath, ...studyArgs(workspace)], { cwd: root, env, encoding: 'utf8' })
    expect(again.status, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/ground_truth\/seed1: run 1 finished before; kept/)
    expect(again.stderr).toMatch(/majority_voting\/seed1: resuming run 2 \(interrupted\) from step [12]/)
    const result = lastJson<{
      study: string
      report: string
      csv: string
      charts: string[]
      complete: boolean
      trained: string[]
      reused: string[]
    }>(again.stdout)
    expect(result.complete).toBe(true)
    expect(result.reused).toEqual(['ground_truth/seed1'])
    expect(result.trained).toEqual(['majority_voting/seed1'])
    expect(result.report).toBe(join(workspace, 'reports', `study-${result.study}`, 'report.md'))

    // The finished run was not trained again; the killed one ends with every step once.
    const db = openDatabase(join(workspace, 'workbench.db'))
    try {
      const starts = (run: number): string[] =>
        runEvents(db, run, { kinds: ['status'] })
          .map((e) => e.message)
          .filter((m) => /^(Started|Resumed) on/.test(m))
      expect(starts(1)).toHaveLength(1)
      expect(starts(2).map((m) => m.split(' ')[0])).toEqual(['Started', 'Resumed'])
      expect(getRun(db, 2)!.status).toBe('finished')
      expect(metricSeries(db, 2)['critic/score/mean']!.map(([step]) => step)).toEqual([1, 2, 3])
    } finally {
      db.close()
    }

    const report = readFileSync(result.report, 'utf8')
    expect(report).toContain(`# Study ${result.study}`)
    expect(report).toContain('`cwb demo --study --seeds 1 --steps 3 --modes ground_truth,majority_voting')
    expect(report).toMatch(/\| Ground truth \| 1 \| \d+\.\d% \| \d+\.\d% \(\d\) \| \d+\.\d% \| \d+\.\d% \|/)
    expect(report).toMatch(/\| Majority voting \| 1 \|.*\| none \(0\/1\) \|$/m)
    expect(report).toMatch(/- Wall time: \d+\.\d min over 2 sitting\(s\)/)
    expect(report).toMatch(/- Commit: `[0-9a-f]{40}`/)
    expect(report).toContain('| `validation_split` | `"test"` |')
    expect(report).toContain('![charts/held-out-pass1.svg](charts/held-out-pass1.svg)')

    const csv = readFileSync(result.csv, 'utf8').trimEnd().split('\n')
    expect(csv[0]).toBe('group,mode,seed,run,step,held_out_pass@1,maj@8,pseudo_label_acc,reward,response_length,entropy')
    // Steps 0 to 3 of each run; maj@8 measured at every validated step.
    expect(csv.slice(1).map((line) => line.split(',').slice(3, 5).join(':'))).toEqual([
      ...['1:0', '1:1', '1:2', '1:3'],
      ...['2:0', '2:1', '2:2', '2:3'],
    ])
    for (const line of csv.slice(1)) expect(line.split(',')[6]).toMatch(/^(0|1|0\.\d+)$/)

    const names = result.charts.map((file) => file.split('/').at(-1))
    expect(names).toEqual([
      'held-out-pass1.svg',
      'held-out-maj8.svg',
      'pseudo-label-accuracy.svg',
      'training-reward.svg',
      'response-length.svg',
      'entropy.svg',
    ])
    const chart = readFileSync(result.charts[0]!, 'utf8')
    expect(chart).toMatch(/^<svg/)
    expect(chart).toContain('Ground truth')
    expect(chart).toContain('Majority voting')
    // Pseudo labels come from a vote: ground truth has none, so only majority voting is drawn.
    expect(readFileSync(result.charts[2]!, 'utf8')).not.toContain('Ground truth')

    // Once more: nothing is trained, and the numbers are the same.
    const third = spawnSync(process.execPath, [cliPath, ...studyArgs(workspace)], { cwd: root, env, encoding: 'utf8' })
    expect(third.status, third.stderr).toBe(0)
    const rerun = lastJson<{ trained: string[]; reused: string[]; csv: string }>(third.stdout)
    expect(rerun.trained).toEqual([])
    expect(rerun.reused).toEqual(['ground_truth/seed1', 'majority_voting/seed1'])
    expect(readFileSync(rerun.csv, 'utf8').split('\n')).toEqual([csv.join('\n'), ''].join('\n').split('\n'))
  })
})
