// Handing a run to the Co-rewarding reference's verl engine (co-rewarding.md section 13): the run's data as verl
// Parquet (Co-rewarding-I: the aligned original + rewrite pair), a launch script for the right fork with the Hydra
// overrides of the run's mode, and a README for one node and for a Ray cluster.
//
// Two forks: Co-rewarding-I has its own verl tree (adv_estimator and reward manager `co_reward`, a second train file
// for the rewrites); ground truth, majority voting and Co-rewarding-II run on the other. Self-certainty and entropy
// exist in neither, so those runs are refused. Scale-dependent values (learning rate, batch size, lengths, epochs)
// are the reference's unless `keepHparams`, because the local run's are sized for a ~1M-parameter model.
//
// The model verl trains is --model, else the run's own starting checkpoint (a Hugging Face folder or hub id). A LoRA
// run (its config's `lora` block, or a LoRA adapter checkpoint as the model) trains LoRA on verl too: its rank, alpha
// and target modules become verl's `actor_rollout_ref.model.lora_rank / lora_alpha / target_modules`, and the model
// path is the adapter's base.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from '../../store/database'
import { getRun } from '../../store/runs'
import type { Run } from '../../store/runs'
import { adapterBase, isAdapterFolder, readAdapterConfig } from '../../engine/checkpoint/adapter'
import { readJson } from '../../engine/checkpoint/folder'
import { looksLikeHubId } from '../../engine/checkpoint/hub-cache'
import type { LoraSettings } from '../../engine/model/lora'
import { rewardMode } from '../../engine/rewards'
import { emaConfig, klCoefficient, loraSettings } from '../../engine/run-config'
import type { RunConfig } from '../../engine/run-config'
import { checkpointFromStore } from '../../services/checkpoint-spec'
import { exportDataset, exportVerlFile } from '../export/export'

export interface VerlExportOptions {
  out: string
  /**
   * Hugging Face model id or path for actor_rollout_ref.model.path, or a LoRA adapter checkpoint (its base is the path);
   * default: the run's starting checkpoint.
   */
  model?: string
  /** A LoRA adapter's base folder, when it moved from where the adapter says. */
  base?: string
  gpus?: number
  nodes?: number
  keepHparams?: boolean
}

/** What verl trains: the model path, and LoRA's settings for a LoRA run. */
export interface VerlModel {
  path: string
  lora?: LoraSettings
}

export interface VerlExport {
  fork: 'Co-rewarding-I' | 'Co-rewarding-II'
  /** actor_rollout_ref.model.path. */
  model: string
  /** LoRA's rank, alpha and target modules when verl trains adapters, else null. */
  lora: { rank: number; alpha: number; target_modules: string[] } | null
  overrides: string[]
  files: { script: string; readme: string; train: string[]; validation: string }
}

/** The reference's scale-dependent settings (co-rewarding.md section 13). */
export const REFERENCE_SCALE = {
  'data.train_batch_size': 128,
  'data.max_prompt_length': 512,
  'data.max_response_length': 3072,
  'actor_rollout_ref.actor.optim.lr': 3e-6,
  'trainer.total_epochs': 3,
} as const

/** The keys that choose each mode, exactly as the method doc gives them. */
export function modeOverrides(config: RunConfig, trainFiles: { original: string; rewrite?: string }): string[] {
  // The ablations the workbench adds have no switch in either fork.
  if (config.cross_view === false)
    throw new Error(
      'cross_view false runs cannot go to verl: the Co-rewarding-I fork always scores each view by the other view; export a run with cross_view true.',
    )
  if (config.question_view === 'paraphrase')
    throw new Error(
      'question_view "paraphrase" runs cannot go to verl: neither fork rolls out a single view on the paraphrases; export a run with question_view "original".',
    )
  switch (config.mode) {
    case 'ground_truth':
      return ['algorithm.adv_estimator=grpo', 'reward_model.reward_manager=naive']
    case 'majority_voting':
      return ['algorithm.adv_estimator=grpo', 'reward_model.reward_manager=majority_voting']
    case 'co_rewarding_i':
      return [
        'algorithm.adv_estimator=co_reward',
        'reward_model.reward_manager=co_reward',
        `data.train_files=${trainFiles.original}`,
        `data.train_aug_files=${trainFiles.rewrite}`,
      ]
    case 'co_rewarding_ii': {
      const ema = emaConfig(config)
      return [
        'algorithm.adv_estimator=grpo',
        'reward_model.reward_manager=co_rewarding_II',
        `actor_rollout_ref.ref.sliding_average.enable=${ema.enabled ? 'True' : 'False'}`,
        `actor_rollout_ref.ref.sliding_average.update_interval=${ema.update_interval}`,
        `actor_rollout_ref.ref.sliding_average.alpha_start=${ema.alpha_start}`,
        `actor_rollout_ref.ref.sliding_average.alpha_end=${ema.alpha_end}`,
        'reward_model.val_reward_manager=naive',
      ]
    }
    default:
      throw new Error(
        `${config.mode} runs cannot go to verl: neither Co-rewarding fork implements ${config.mode === 'self_certainty' ? 'self-certainty' : 'entropy'} rewards; export a ground_truth, majority_voting, co_rewarding_i or co_rewarding_ii run.`,
      )
  }
}

/** verl's LoRA keys (its FSDP LoRA support: PEFT over the base, vLLM loading the base from safetensors). */
export function loraOverrides(lora: LoraSettings | undefined): string[] {
  if (!lora) return []
  return [
    `actor_rollout_ref.model.lora_rank=${lora.rank}`,
    `actor_rollout_ref.model.lora_alpha=${lora.alpha}`,
    `actor_rollout_ref.model.target_modules=[${lora.targetModules.join(',')}]`,
    'actor_rollout_ref.rollout.load_format=safetensors',
  ]
}

const NEEDS_MODEL =
  'name the Hugging Face model verl should train with --model (a folder, a hub id such as Qwen/Qwen3-1.7B-Base, or a LoRA checkpoint)'

/**
 * The model verl trains: `options.model`, else the run's starting checkpoint. A LoRA adapter folder stands for its base
 * (checked as `adapterBase` checks it); a hub id not in the local cache is passed on as it is (verl downloads it). LoRA
 * settings come from the run config's `lora` block, else from the adapter.
 */
export function verlModel(db: Db, run: Run, options: Pick<VerlExportOptions, 'model' | 'base'>): VerlModel {
  const config = run.config as unknown as RunConfig
  const runLora = loraSettings(config)
  const start = run.environment.start_checkpoint
  const spec =
    options.model ??
    (typeof config.checkpoint === 'string' && looksLikeHubId(config.checkpoint) && !existsSync(config.checkpoint)
      ? config.checkpoint
      : typeof start === 'string'
        ? start
        : config.checkpoint)
  if (spec === undefined || spec === null || spec === '')
    throw new Error(`Run ${run.id} started from the workbench's shipped cwb-gpt model, which verl cannot train: ${NEEDS_MODEL}.`)
  let folder: string | undefined
  try {
    folder = checkpointFromStore(db, spec)
  } catch (error) {
    if (options.model === undefined)
      throw new Error(
        `Run ${run.id}'s starting checkpoint ${spec} is not found here (${(error as Error).message}); ${NEEDS_MODEL}.`,
        {
          cause: error,
        },
      )
    return { path: spec, lora: runLora } // a hub id verl will download, or a path on the cluster
  }
  if (isAdapterFolder(folder)) {
    const { settings } = readAdapterConfig(folder)
    return { path: adapterBase(folder, options.base), lora: runLora ?? settings }
  }
  const configFile = join(folder, 'config.json')
  if (existsSync(configFile) && readJson(configFile).model_type === 'cwb-gpt') {
    throw new Error(
      `${options.model === undefined ? `Run ${run.id} started from ${folder}, ` : `${folder} is `}the workbench's own cwb-gpt model, which verl cannot train: ${NEEDS_MODEL}.`,
    )
  }
  // A hub id named as such stays one, so the script runs where that id resolves (the cluster's own cache).
  return { path: looksLikeHubId(spec) && !existsSync(spec) ? spec : folder, lora: runLora }
}

/** Every override of a run, mode keys first; `$DATA` and `$OUT` are set by the launch script. */
export function verlOverrides(
  config: RunConfig,
  options: Omit<VerlExportOptions, 'out' | 'model'> & { model: VerlModel },
  files: { train: string; rewrite?: string; validation: string },
): string[] {
  const scale = options.keepHparams
    ? {
        'data.train_batch_size': config.batch_size,
        'data.max_prompt_length': config.max_prompt_tokens,
        'data.max_response_length': config.max_response_tokens,
        'actor_rollout_ref.actor.optim.lr': config.learning_rate,
      }
    : REFERENCE_SCALE
  const mode = modeOverrides(config, { original: files.train, rewrite: files.rewrite })
  return [
    ...mode,
    ...(config.mode === 'co_rewarding_i' ? [] : [`data.train_files=${files.train}`]),
    `data.val_files=${files.validation}`,
    ...Object.entries(scale).map(([key, value]) => `${key}=${value}`),
    ...(options.keepHparams ? [`trainer.total_training_steps=${config.steps}`] : []),
    `actor_rollout_ref.model.path=${options.model.path}`,
    ...loraOverrides(options.model.lora),
    `actor_rollout_ref.rollout.n=${config.rollouts}`,
    `actor_rollout_ref.rollout.temperature=${config.temperature}`,
    `actor_rollout_ref.rollout.top_p=${config.top_p}`,
    'actor_rollout_ref.actor.use_kl_loss=True',
    'actor_rollout_ref.actor.kl_loss_type=low_var_kl',
    `actor_rollout_ref.actor.kl_loss_coef=${klCoefficient(config)}`,
    `actor_rollout_ref.actor.clip_ratio_low=${config.clip_ratio_low}`,
    `actor_rollout_ref.actor.clip_ratio_high=${config.clip_ratio_high}`,
    `trainer.test_freq=${config.validation.every}`,
    `trainer.save_freq=${config.checkpoint_every}`,
    "trainer.logger=['console']",
    'trainer.rollout_data_dir=$OUT/rollouts',
    'trainer.default_local_dir=$OUT/checkpoints',
    `trainer.n_gpus_per_node=${options.gpus ?? 8}`,
    `trainer.nnodes=${options.nodes ?? 1}`,
    `trainer.project_name=co-rewarding-workbench`,
    `trainer.experiment_name=${config.name.replace(/[^\w.-]+/g, '_')}`,
  ]
}

const shellQuote = (text: string): string => (/^[\w@%+=:,./$-]+$/.test(text) ? text : `"${text.replace(/(["\\`])/g, '\\$1')}"`)

function launchScript(fork: VerlExport['fork'], overrides: string[], runName: string): string {
  return `#!/usr/bin/env bash
# Launches the workbench run "${runName}" on verl with the ${fork} fork of the Co-rewarding reference.
# Set CO_REWARDING_DIR to your clone of the reference (it holds the ${fork} verl tree). On a Ray cluster, start Ray
# first (see README.md) and run this on the head node.
set -euo pipefail
HERE="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
DATA="\${DATA:-$HERE/data}"
OUT="\${OUT:-$HERE/output}"
: "\${CO_REWARDING_DIR:?set CO_REWARDING_DIR to the Co-rewarding reference clone}"
mkdir -p "$OUT/rollouts" "$OUT/checkpoints"
cd "$CO_REWARDING_DIR/${fork}"
python3 -m verl.trainer.main_ppo \\
${overrides.map((o) => `  ${shellQuote(o)}`).join(' \\\n')} \\
  "$@" 2>&1 | tee "$OUT/console.log"
`
}

function loraLine(model: VerlModel): string {
  if (!model.lora) return ''
  const { rank, alpha, targetModules } = model.lora
  return `\nLoRA, as the run trained: rank ${rank}, alpha ${alpha}, target modules ${targetModules.join(', ')} (\`actor_rollout_ref.model.lora_rank\`, \`lora_alpha\`, \`target_modules\`; verl applies LoRA through PEFT with the FSDP backends and loads the base into vLLM from safetensors). verl starts fresh adapters over \`${model.path}\`; to start from this run's trained weights instead, export them merged (\`cwb export-model RUN:STEP --format hf --out DIR\`) and pass that folder with --model.\n`
}

function readme(
  fork: VerlExport['fork'],
  config: RunConfig,
  options: VerlExportOptions,
  model: VerlModel,
  files: VerlExport['files'],
): string {
  return `# ${config.name} on verl (${fork})

Exported by the Co-rewarding Workbench from a ${config.mode} run. Scale-dependent settings are ${
    options.keepHparams
      ? "the local run's (--keep-hparams)"
      : "the reference's (batch 128, lengths 512 + 3072, lr 3e-6, 3 epochs)"
  }; mode keys, G = ${config.rollouts}, temperature ${config.temperature}, KL ${klCoefficient(config)} (low_var_kl; the mode default is ${rewardMode(config.mode).klCoef}), test every ${config.validation.every} and save every ${config.checkpoint_every} steps come from the run. The model is \`${model.path}\`.
${loraLine(model)}
Files: ${[...files.train, files.validation].map((f) => `\`data/${f.split('/').at(-1)}\``).join(', ')}, \`launch.sh\`.

## One node
    export CO_REWARDING_DIR=/path/to/Co-rewarding   # the reference clone, with its ${fork} verl tree
    bash launch.sh                                   # extra Hydra overrides may follow, e.g. trainer.total_epochs=1

## A Ray cluster
    # on the head node
    ray start --head --port=6379
    # on every worker node
    ray start --address=HEAD_IP:6379
    # then on the head node, with trainer.nnodes set to the node count
    bash launch.sh trainer.nnodes=${options.nodes ?? 1} trainer.n_gpus_per_node=${options.gpus ?? 8}

## Bring the results back
    npx cwb import-log output/console.log --name ${config.name}-verl
    npx cwb import-log output/rollouts --run RUN_ID      # the rollout dumps, into the same run
`
}

export function exportRunToVerl(db: Db, runSpec: string, options: VerlExportOptions): VerlExport {
  const run = getRun(db, runSpec)
  if (!run) throw new Error(`No run "${runSpec}" in this workspace; \`cwb runs\` lists them.`)
  if (run.origin !== 'local') throw new Error(`Run ${run.id} was imported from ${run.origin}; export a local run.`)
  const config = run.config as unknown as RunConfig
  modeOverrides(config, { original: '' }) // refuses self-certainty and entropy before writing anything
  const model = verlModel(db, run, options) // and a model verl cannot train
  const fork: VerlExport['fork'] = config.mode === 'co_rewarding_i' ? 'Co-rewarding-I' : 'Co-rewarding-II'
  const dataDir = join(options.out, 'data')
  mkdirSync(dataDir, { recursive: true })
  let train: string[]
  if (config.mode === 'co_rewarding_i') {
    const pair = exportDataset(db, config.dataset, {
      format: 'verl-pair',
      out: dataDir,
      split: config.train_split,
      acceptedOnly: true,
      prefix: 'train',
    })
    if (pair.rows === 0)
      throw new Error(
        `Dataset "${config.dataset}" has no accepted paraphrases in split "${config.train_split}"; Co-rewarding-I needs pairs.`,
      )
    train = pair.files
  } else {
    const file = join(dataDir, 'train.parquet')
    exportVerlFile(db, config.dataset, { file, split: config.train_split })
    train = [file]
  }
  const validation = join(dataDir, 'validation.parquet')
  exportVerlFile(db, config.dataset, { file: validation, split: config.validation_split, labelledOnly: true })
  const inData = (file: string): string => `$DATA/${file.split('/').at(-1)}`
  const overrides = verlOverrides(
    config,
    { ...options, model },
    {
      train: inData(train[0]!),
      rewrite: train[1] && inData(train[1]),
      validation: inData(validation),
    },
  )
  const files = { script: join(options.out, 'launch.sh'), readme: join(options.out, 'README.md'), train, validation }
  writeFileSync(files.script, launchScript(fork, overrides, config.name))
  chmodSync(files.script, 0o755)
  writeFileSync(files.readme, readme(fork, config, options, model, files))
  const lora = model.lora ? { rank: model.lora.rank, alpha: model.lora.alpha, target_modules: model.lora.targetModules } : null
  return { fork, model: model.path, lora, overrides, files }
}
