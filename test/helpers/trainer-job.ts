// In-process trainer jobs on the demo arithmetic task, and the settings of the tiny Hugging Face runs:
//
//   demoTrainerJob(runDir, start, config, { train: 40, validation: 6 })  // a TrainerJob of RunConfig.parse(config)
//   tinyHfJob(runDir, start, { lora: TINY_HF_LORA })   // 2 entropy steps of TINY_HF_RUN on a tiny HF folder
//   { ...TINY_HF_RUN, validation: ..., checkpoint_every: 1 }  // the same sizes for a `cwb train` config file
import { DEMO_TASK_DEFAULTS, generateDemoTask } from '../../main/data/demo'
import type { DemoTask } from '../../main/data/demo'
import { RunConfig } from '../../main/engine/run-config'
import type { RunConfigInput } from '../../main/engine/run-config'
import type { TrainerJob } from '../../main/engine/trainer/trainer'

/** How many demo questions a job trains and validates on (no test split). */
export interface DemoSplits {
  train: number
  validation: number
}

const tasks = new Map<string, DemoTask>()

/** The demo arithmetic task with these splits (generated once per process; the generator is seeded). */
export function demoTask(splits: DemoSplits): DemoTask {
  const key = `${splits.train}/${splits.validation}`
  let task = tasks.get(key)
  if (!task) {
    task = generateDemoTask({ ...DEMO_TASK_DEFAULTS, train: splits.train, validation: splits.validation, test: 0 })
    tasks.set(key, task)
  }
  return task
}

/** A job training `config` from `startCheckpoint` into `runDir` on the demo task's train split, validating on its validation split. */
export function demoTrainerJob(runDir: string, startCheckpoint: string, config: RunConfigInput, splits: DemoSplits): TrainerJob {
  const task = demoTask(splits)
  return {
    config: RunConfig.parse(config),
    runDir,
    startCheckpoint,
    train: task.records
      .filter((r) => r.split === 'train')
      .map((r, i) => ({ id: i + 1, question: r.question, answer: r.answer, paraphrases: r.paraphrases.map((p) => p.text) })),
    validation: task.records.filter((r) => r.split === 'validation').map((r) => ({ question: r.question, answer: r.answer })),
    validationSource: 'demo-arithmetic',
  }
}

/** The sizes of the tiny Hugging Face runs: 2 steps of 2 questions × 2 rollouts, short lengths, a high learning rate. */
export const TINY_HF_RUN = {
  steps: 2,
  batch_size: 2,
  rollouts: 2,
  max_prompt_tokens: 240,
  max_response_tokens: 6,
  learning_rate: 2e-2,
  warmup_fraction: 0,
  micro_batch_size: 2,
} as const

/** The LoRA block of the tiny Hugging Face runs: rank 2 on an attention query and value and the MLP's down projection. */
export const TINY_HF_LORA = {
  rank: 2,
  alpha: 4,
  target_modules: ['q_proj', 'v_proj', 'down_proj'] as ('q_proj' | 'v_proj' | 'down_proj')[],
}

/**
 * 2 entropy steps of TINY_HF_RUN (validation every 3 steps on 2 questions, seed 7) from the tiny Hugging Face folder
 * `startCheckpoint`, on 20 train and 4 validation demo questions; `overrides` changes any field (checkpoint_every too).
 */
export function tinyHfJob(runDir: string, startCheckpoint: string, overrides: Partial<RunConfigInput>): TrainerJob {
  const config: RunConfigInput = {
    name: 'tiny-hf',
    mode: 'entropy',
    ...TINY_HF_RUN,
    validation: { every: 3, questions: 2 },
    sample_groups: 1,
    seed: 7,
    ...overrides,
  }
  return demoTrainerJob(runDir, startCheckpoint, config, { train: 20, validation: 4 })
}
