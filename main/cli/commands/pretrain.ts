import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { PRETRAIN_DEFAULTS } from '../../demo/pretrain-defaults'
import { printJson, progress } from '../output'
import { integerOption, numberOption } from '../parse'

export function pretrainCommand(): Command {
  return new Command('pretrain')
    .description('pre-train the demo base model on the demo task (deterministic for a seed on the wasm backend)')
    .requiredOption('--out <dir>', 'checkpoint folder to write (Hugging Face layout)')
    .addOption(
      new Option('--seed <n>', 'seed for initialisation and data order')
        .default(PRETRAIN_DEFAULTS.seed)
        .argParser(integerOption('--seed', 0)),
    )
    .addOption(
      new Option('--steps <n>', 'optimiser steps').default(PRETRAIN_DEFAULTS.steps).argParser(integerOption('--steps', 1)),
    )
    .addOption(
      new Option('--batch-size <n>', 'examples per step')
        .default(PRETRAIN_DEFAULTS.batchSize)
        .argParser(integerOption('--batch-size', 1)),
    )
    .addOption(
      new Option('--learning-rate <lr>', 'peak learning rate (warm-up then cosine)')
        .default(PRETRAIN_DEFAULTS.learningRate)
        .argParser(numberOption('--learning-rate')),
    )
    .addOption(
      new Option('--eval-every <n>', 'greedy validation check every N steps')
        .default(PRETRAIN_DEFAULTS.evalEvery)
        .argParser(integerOption('--eval-every', 1)),
    )
    .addOption(
      new Option('--eval-questions <n>', 'validation questions for the checks and the final evaluation')
        .default(PRETRAIN_DEFAULTS.evalQuestions)
        .argParser(integerOption('--eval-questions', 1)),
    )
    .addOption(
      new Option('--direct-share <fraction>', 'share of pre-training solutions that answer without working the steps out')
        .default(PRETRAIN_DEFAULTS.directShare)
        .argParser(numberOption('--direct-share')),
    )
    .addOption(
      new Option('--direct-from <step>', 'the step from which direct answers enter the mix (worked solutions only before it)')
        .default(PRETRAIN_DEFAULTS.directFrom)
        .argParser(integerOption('--direct-from', 1)),
    )
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(
      async (options: {
        out: string
        seed: number
        steps: number
        batchSize: number
        learningRate: number
        evalEvery: number
        evalQuestions: number
        directShare: number
        directFrom: number
        json?: boolean
      }) => {
        let stop = false
        const onSignal = (): void => {
          progress('Stopping after this step...')
          stop = true
        }
        process.once('SIGINT', onSignal)
        const { pretrainDemoModel } = await import('../../demo/pretrain')
        const result = await pretrainDemoModel({
          ...PRETRAIN_DEFAULTS,
          out: resolve(options.out),
          seed: options.seed,
          steps: options.steps,
          batchSize: options.batchSize,
          learningRate: options.learningRate,
          evalEvery: options.evalEvery,
          evalQuestions: options.evalQuestions,
          directShare: options.directShare,
          directFrom: options.directFrom,
          log: progress,
          shouldStop: () => stop,
        })
        process.off('SIGINT', onSignal)
        const pct = (x: number): string => `${(x * 100).toFixed(1)}%`
        if (options.json) return printJson(result)
        process.stdout.write(
          `Wrote ${result.out} after ${result.steps} steps in ${result.seconds.toFixed(0)} s (${result.backend}).\n` +
            `Validation (${result.evaluation.questions} questions): greedy ${pct(result.evaluation.pass1)}, ` +
            `one sample at T=1 ${pct(result.evaluation.avgK)}, majority of 8 ${pct(result.evaluation.majK)}, any of 8 ${pct(result.evaluation.passK)}\n`,
        )
      },
    )
}
