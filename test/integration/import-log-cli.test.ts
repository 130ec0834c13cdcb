// `cwb import-log` on fixtures written the way verl and TRL write them, quirks included: Ray tags, ANSI colours,
// progress bars, numpy-wrapped values, nan/inf, repeated steps after a resume, and a last line cut off mid-write.
import { spawn } from 'node:child_process'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { analysisHandlers } from '../../main/services/analysis'
import { Store } from '../../main/store/store'
import { cliPath, cwb, root } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? ''
const json = (text: string): Record<string, unknown> => JSON.parse(lastLine(text)) as Record<string, unknown>

const ray = (text: string): string => `\u001b[36m(TaskRunner pid=48211)\u001b[0m ${text}`
const stepLine = (step: number, score: string, extra = ''): string =>
  ray(
    `step:${step} - critic/score/mean:${score} - response_length/mean:np.float64(${100 + step}.5) - timing_s/step:2.5 - perf/total_num_tokens:1000${extra}`,
  )

function consoleLog(): string {
  return [
    ray('INFO 2026-05-01 12:00:00 Starting vLLM engine'),
    ray('step:0 - val-core/math/reward/mean@1:np.float64(0.31)'),
    'Training Progress:   0%|          | 0/4 [00:00<?, ?it/s]',
    stepLine(1, '0.25', ' - actor/kl_loss:nan'),
    'Training Progress:  25%|##5       | 1/4 [00:02<00:07]\r' + stepLine(2, 'np.float64(0.375)', ' - actor/grad_norm:inf'),
    ray('WARNING: something unrelated: value:3'),
    // a resume repeats step 2 with other values: the later line wins
    stepLine(2, '0.5'),
    '',
  ].join('\n')
}

const metrics = (workspace: string, run: number): Record<string, [number, unknown][]> =>
  json(cwb(['metrics', String(run), '--workspace', workspace, '--json']).stdout).series as Record<string, [number, unknown][]>

describe('cwb import-log', () => {
  it('imports a verl console log; a repeated step replaces the stored one; nan is null and inf "Infinity"', () => {
    const workspace = freshDir()
    const log = join(freshDir(), 'grpo-math.log')
    writeFileSync(log, consoleLog() + stepLine(3, '0.6').slice(0, 40)) // the last line is still being written
    const result = cwb(['import-log', log, '--workspace', workspace, '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(json(result.stdout)).toEqual({ run: 1, steps: 3, metrics: 6, new_steps: 3 })
    const series = metrics(workspace, 1)
    expect(series['critic/score/mean']).toEqual([
      [1, 0.25],
      [2, 0.5],
    ])
    expect(series['actor/kl_loss']).toEqual([[1, null]])
    expect(series['actor/grad_norm']).toBeUndefined() // step 2's first line was replaced by the resumed one
    expect(series['val-core/math/reward/mean@1']).toEqual([[0, 0.31]])
    const runs = json(cwb(['runs', '--workspace', workspace, '--json']).stdout).runs as { name: string; origin?: string }[]
    expect(runs[0]).toMatchObject({ name: 'grpo-math' })

    // The cut-off line is read once it is complete; importing the same path again appends to the same run.
    appendFileSync(log, stepLine(3, '0.6').slice(40) + '\n' + stepLine(4, '0.7') + '\n')
    const again = cwb(['import-log', log, '--workspace', workspace, '--json'])
    expect(json(again.stdout)).toEqual({ run: 1, steps: 5, metrics: 6, new_steps: 2 })
    expect(metrics(workspace, 1)['critic/score/mean']!.at(-1)).toEqual([4, 0.7])
    const unchanged = cwb(['import-log', log, '--workspace', workspace, '--json'])
    expect(json(unchanged.stdout)).toEqual({ run: 1, steps: 5, metrics: 6, new_steps: 0 })
  })

  it('adds a rollout dump folder to the same run with --run, grouped by (step, input) and re-scored', async () => {
    const workspace = freshDir()
    const log = join(freshDir(), 'mv.log')
    writeFileSync(log, `${stepLine(1, '0.5', ' - coreward/pseudo_acc:0.5')}\n`)
    expect(cwb(['import-log', log, '--workspace', workspace]).code).toBe(0)
    const dumps = join(freshDir(), 'rollouts')
    mkdirSync(dumps)
    const rows = [
      { input: 'Q: 1+1?', output: 'so \\boxed{2}', score: 1, step: 1, gts: '2' },
      { input: 'Q: 1+1?', output: 'so \\boxed{3}', score: 0, step: 1, gts: '2' },
      { input: 'Q: 1+1?', output: 'so \\boxed{2}', score: 1, step: 1, gts: '2' },
      { input: 'Q: 2+2?', output: 'so \\boxed{5}', score: 1, step: 1, gts: '4' },
      { input: 'Q: 2+2?', output: 'so \\boxed{5}', score: 1, step: 1, gts: '4' },
    ]
    writeFileSync(join(dumps, '1.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n')
    const result = cwb(['import-log', dumps, '--run', '1', '--workspace', workspace, '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(json(result.stdout)).toMatchObject({ run: 1, steps: 1, new_steps: 0 })
    const series = metrics(workspace, 1)
    // majority voting: group 1 votes 2 (rewards 1,0,1), group 2 votes 5 (1,1): 4/5; GT: 2 of 3 right, 0 of 2: 2/5
    expect(series['rescore/majority_voting/mean']).toEqual([[1, 0.8]])
    expect(series['rescore/ground_truth/mean']).toEqual([[1, 0.4]])
    expect(series['rescore/pseudo_acc']).toEqual([[1, 0.5]])
    expect(series['critic/score/mean']).toEqual([[1, 0.5]]) // the console metrics of step 1 stay
    // The rollout viewer shows each dumped group with its own ground truth, votes and advantages.
    const store = new Store(join(workspace, 'workbench.db'))
    try {
      const groups = await analysisHandlers(store.db)['rollouts.get']({ run: 1, step: 1 })
      expect(groups.map((g) => [g.question, g.gt, g.samples.map((s) => [s.answer, s.pseudoLabel, s.reward])])).toEqual([
        [
          'Q: 1+1?',
          '2',
          [
            ['2', '2', 1],
            ['3', '2', 0],
            ['2', '2', 1],
          ],
        ],
        [
          'Q: 2+2?',
          '4',
          [
            ['5', '5', 1],
            ['5', '5', 1],
          ],
        ],
      ])
      expect(groups[0]!.samples.map((s) => Number(s.advantage!.toFixed(4)))).toEqual([0.5773, -1.1547, 0.5773]) // (r - 2/3) / (sqrt(1/3) + 1e-6)
    } finally {
      store.close()
    }
  })

  it('imports a TRL trainer_state.json with the mapped names', () => {
    const workspace = freshDir()
    const dir = freshDir()
    const file = join(dir, 'trainer_state.json')
    writeFileSync(
      file,
      '{"log_history": [{"step": 5, "reward": 0.2, "kl": 0.01, "completions/mean_length": 80.0, "num_tokens": 500}, {"step": 10, "reward": 0.4, "kl": NaN, "num_tokens": 1000}]}',
    )
    const result = cwb(['import-log', file, '--name', 'trl-run', '--workspace', workspace, '--json'])
    expect(json(result.stdout)).toEqual({ run: 1, steps: 2, metrics: 3, new_steps: 2 })
    expect(metrics(workspace, 1)['critic/score/mean']).toEqual([
      [5, 0.2],
      [10, 0.4],
    ])
  })

  it('refuses what it cannot read with a clear message, and --name with --run as a usage error', () => {
    const workspace = freshDir()
    const missing = cwb(['import-log', join(freshDir(), 'nope.log'), '--workspace', workspace])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/nope\.log: no such file or folder/)
    expect(cwb(['import-log', 'x.log', '--name', 'a', '--run', '1', '--workspace', workspace]).code).toBe(2)
    const noRun = cwb(['import-log', __filename, '--run', '9', '--workspace', workspace])
    expect(noRun.stderr).toMatch(/No run 9 in this workspace/)
  })

  it('--follow prints one JSON line per append and stops on SIGTERM', async () => {
    const workspace = freshDir()
    const log = join(freshDir(), 'live.log')
    writeFileSync(log, `${stepLine(1, '0.1')}\n`)
    const child = spawn(
      process.execPath,
      [cliPath, 'import-log', log, '--follow', '--interval', '100', '--workspace', workspace],
      {
        cwd: root,
        env: { ...process.env, CWB_DEMO: '0' },
      },
    )
    const lines: string[] = []
    let buffer = ''
    const waitFor = (count: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const timeout = setTimeout(() => reject(new Error(`saw ${lines.length} lines: ${lines.join(' | ')}`)), 15_000)
        const check = (): void => {
          if (lines.length >= count) {
            clearTimeout(timeout)
            resolve()
          } else setTimeout(check, 50)
        }
        check()
      })
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const parts = buffer.split('\n')
      buffer = parts.pop()!
      lines.push(...parts.filter(Boolean))
    })
    await waitFor(1)
    appendFileSync(log, `${stepLine(2, '0.2')}\n${stepLine(3, '0.3')}\n`)
    await waitFor(2)
    appendFileSync(log, `${stepLine(4, '0.4')}\n`)
    await waitFor(3)
    child.kill('SIGTERM')
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code).toBe(0)
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { run: 1, steps: 1, metrics: 4, new_steps: 1 },
      { run: 1, steps: 3, metrics: 4, new_steps: 2 },
      { run: 1, steps: 4, metrics: 4, new_steps: 1 },
    ])
  })
})
