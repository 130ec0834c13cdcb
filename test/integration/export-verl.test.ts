// `cwb export-verl`: the data files, the launch script and its Hydra overrides for each mode's fork.
import Database from 'better-sqlite3'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { defaultRunConfig, type RunConfig } from '../../main/engine/run-config'
import { DEMO_DATASET_NAME } from '../../main/data/demo/dataset'
import { cwb } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? ''

/** A workspace with the demo dataset and one local run per config (the runs need no training to be exported). */
function workspaceWithRuns(configs: RunConfig[]): string {
  const workspace = freshDir()
  expect(cwb(['datasets', '--workspace', workspace], { CWB_DEMO: '1' }).code).toBe(0)
  const db = new Database(join(workspace, 'workbench.db'))
  const dataset = db.prepare('SELECT id FROM datasets WHERE name = ?').pluck().get(DEMO_DATASET_NAME) as number
  for (const config of configs) {
    db.prepare(`INSERT INTO runs (name, mode, config, status, seed, dataset_id) VALUES (?, ?, ?, 'finished', ?, ?)`).run(
      config.name,
      config.mode,
      JSON.stringify(config),
      config.seed,
      dataset,
    )
  }
  db.close()
  return workspace
}

interface Exported {
  fork: string
  overrides: string[]
  files: { script: string; readme: string; train: string[]; validation: string }
}

function exportRun(workspace: string, run: string, extra: string[] = []): Exported {
  const out = freshDir()
  const result = cwb([
    'export-verl',
    run,
    '--out',
    out,
    '--model',
    'Qwen/Qwen3-1.7B-Base',
    '--workspace',
    workspace,
    '--json',
    ...extra,
  ])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(lastLine(result.stdout)) as Exported
}

/** The overrides as key → value, to match against the values a test expects. */
const asValues = (overrides: string[]): Record<string, string> =>
  Object.fromEntries(overrides.map((o) => [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)]))

describe('cwb export-verl', () => {
  const coI = { ...defaultRunConfig('co_rewarding_i'), name: 'co-i', rollouts: 4, temperature: 0.9, checkpoint_every: 20 }
  const coII = {
    ...defaultRunConfig('co_rewarding_ii'),
    name: 'co-ii',
    ema: { enabled: true, alpha_start: 0.02, alpha_end: 1e-4, update_interval: 2, teacher_view: 'original' as const },
  }
  const gt = { ...defaultRunConfig('ground_truth'), name: 'gt', learning_rate: 5e-5, batch_size: 16 }
  const mv = { ...defaultRunConfig('majority_voting'), name: 'mv' }
  const sc = { ...defaultRunConfig('self_certainty'), name: 'sc' }

  it('gives every mode its fork, the method doc mode keys, and valid key=value overrides that match the run', () => {
    const workspace = workspaceWithRuns([coI, coII, gt, mv, sc])
    const expected: Record<string, { fork: string; keys: string[] }> = {
      'co-i': {
        fork: 'Co-rewarding-I',
        keys: ['algorithm.adv_estimator=co_reward', 'reward_model.reward_manager=co_reward'],
      },
      'co-ii': {
        fork: 'Co-rewarding-II',
        keys: [
          'reward_model.reward_manager=co_rewarding_II',
          'actor_rollout_ref.ref.sliding_average.enable=True',
          'actor_rollout_ref.ref.sliding_average.update_interval=2',
          'actor_rollout_ref.ref.sliding_average.alpha_start=0.02',
          'actor_rollout_ref.ref.sliding_average.alpha_end=0.0001',
          'reward_model.val_reward_manager=naive',
        ],
      },
      gt: { fork: 'Co-rewarding-II', keys: ['algorithm.adv_estimator=grpo', 'reward_model.reward_manager=naive'] },
      mv: { fork: 'Co-rewarding-II', keys: ['reward_model.reward_manager=majority_voting'] },
    }
    for (const [run, want] of Object.entries(expected)) {
      const result = exportRun(workspace, run)
      expect(result.fork, run).toBe(want.fork)
      for (const override of result.overrides) expect(override, run).toMatch(/^[a-z_]+(\.[a-z_0-9]+)+=\S+$/)
      expect(result.overrides, run).toEqual(expect.arrayContaining(want.keys))
      expect(new Set(result.overrides.map((o) => o.split('=')[0])).size, `${run}: a key given twice`).toBe(
        result.overrides.length,
      )
      // scale-dependent values are the reference's; the rest are the run's
      expect(asValues(result.overrides), run).toMatchObject({
        'data.train_batch_size': '128',
        'actor_rollout_ref.actor.optim.lr': '0.000003',
        'data.max_response_length': '3072',
        'actor_rollout_ref.actor.kl_loss_type': 'low_var_kl',
        'trainer.logger': "['console']",
        'actor_rollout_ref.model.path': 'Qwen/Qwen3-1.7B-Base',
      })
    }
    expect(asValues(exportRun(workspace, 'co-i').overrides)).toMatchObject({
      'actor_rollout_ref.rollout.n': '4',
      'actor_rollout_ref.rollout.temperature': '0.9',
      'actor_rollout_ref.actor.kl_loss_coef': '0.005',
      'trainer.save_freq': '20',
      'data.train_files': '$DATA/train_original.parquet',
      'data.train_aug_files': '$DATA/train_rewrite.parquet',
    })
    expect(asValues(exportRun(workspace, 'co-ii').overrides)['actor_rollout_ref.actor.kl_loss_coef']).toBe('0.001')
  })

  it('keeps the run’s own scale with --keep-hparams', () => {
    const workspace = workspaceWithRuns([gt])
    const overrides = exportRun(workspace, 'gt', ['--keep-hparams', '--gpus', '2', '--nodes', '3']).overrides
    expect(asValues(overrides)).toMatchObject({
      'actor_rollout_ref.actor.optim.lr': '0.00005',
      'data.train_batch_size': '16',
      'data.max_prompt_length': '48',
      'trainer.total_training_steps': '60',
      'trainer.n_gpus_per_node': '2',
      'trainer.nnodes': '3',
    })
  })

  it('writes aligned verl Parquet files, a launch script bash accepts, and a README', async () => {
    const workspace = workspaceWithRuns([coI])
    const result = exportRun(workspace, 'co-i')
    const [original, rewrite] = result.files.train
    const read = async (file: string): Promise<Record<string, unknown>[]> =>
      (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<string, unknown>[]
    const [a, b, validation] = await Promise.all([read(original!), read(rewrite!), read(result.files.validation)])
    expect(a.length).toBe(2000) // every demo training question has accepted paraphrases
    expect(b.length).toBe(a.length)
    expect(validation.length).toBe(200)
    expect((a[0]!.reward_model as { ground_truth: string }).ground_truth).toBe(
      (b[0]!.reward_model as { ground_truth: string }).ground_truth,
    )
    expect((a[0]!.prompt as { role: string }[]).at(-1)!.role).toBe('user')
    expect(Number((await parquetMetadataAsync(await asyncBufferFromFile(original!))).num_rows)).toBe(2000)
    const script = readFileSync(result.files.script, 'utf8')
    expect(script).toContain('cd "$CO_REWARDING_DIR/Co-rewarding-I"')
    expect(script).toContain('python3 -m verl.trainer.main_ppo')
    expect(spawnSync('bash', ['-n', result.files.script]).status).toBe(0)
    expect(readFileSync(result.files.readme, 'utf8')).toContain('ray start --head')
  })

  it('refuses self-certainty and entropy runs, writing nothing', () => {
    const workspace = workspaceWithRuns([sc])
    const out = join(freshDir(), 'out')
    const result = cwb(['export-verl', 'sc', '--out', out, '--model', 'm', '--workspace', workspace])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/self_certainty runs cannot go to verl: neither Co-rewarding fork implements self-certainty/)
    expect(existsSync(out)).toBe(false)
  })
})
