import { Command, CommanderError } from 'commander'
import { packageVersion } from '../package-root'
import { bundleCommand, unbundleCommand } from './commands/bundle'
import { checkpointsCommand, exportModelCommand } from './commands/checkpoints'
import { checksCommand } from './commands/checks'
import { datasetsCommand } from './commands/datasets'
import { demoCommand } from './commands/demo'
import { diffCommand } from './commands/diff'
import { doctorCommand } from './commands/doctor'
import { evalCommand } from './commands/eval'
import { exportCommand } from './commands/export'
import { exportVerlCommand } from './commands/export-verl'
import { generateCommand } from './commands/generate'
import { importCommand } from './commands/import'
import { importLogCommand } from './commands/import-log'
import { judgeCommand } from './commands/judge'
import { logprobsCommand } from './commands/logprobs'
import { metricsCommand } from './commands/metrics'
import { paraphraseCommand } from './commands/paraphrase'
import { pretrainCommand } from './commands/pretrain'
import { rewardsCommand } from './commands/rewards'
import { runsCommand } from './commands/runs'
import { scoreCommand } from './commands/score'
import { serveCommand } from './commands/serve'
import { stopCommand } from './commands/stop'
import { trainCommand } from './commands/train'
import { EXIT, UsageError } from './errors'

const oneLine = (text: string): string => text.trim().replace(/\s*\n\s*/g, ' ')

export function buildProgram(): Command {
  const program = new Command('cwb')
    .description('Co-rewarding Workbench: label-free RL on language-model reasoning')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`cwb: ${oneLine(text)}\n`) })
  for (const command of [
    serveCommand(),
    doctorCommand(),
    runsCommand(),
    datasetsCommand(),
    importCommand(),
    exportCommand(),
    checksCommand(),
    judgeCommand(),
    paraphraseCommand(),
    importLogCommand(),
    exportVerlCommand(),
    bundleCommand(),
    unbundleCommand(),
    scoreCommand(),
    rewardsCommand(),
    pretrainCommand(),
    generateCommand(),
    logprobsCommand(),
    trainCommand(),
    stopCommand(),
    demoCommand(),
    metricsCommand(),
    evalCommand(),
    checkpointsCommand(),
    diffCommand(),
    exportModelCommand(),
  ]) {
    program.addCommand(withOneLineErrors(command, `cwb ${command.name()}`))
  }
  return program
}

/** Usage errors of a command and of its subcommands (`cwb runs delete`) as one line, thrown instead of exiting. */
function withOneLineErrors(command: Command, path: string): Command {
  for (const subcommand of command.commands) withOneLineErrors(subcommand, `${path} ${subcommand.name()}`)
  return command.exitOverride().configureOutput({ outputError: (text, write) => write(`${path}: ${oneLine(text)}\n`) })
}

/** Runs the CLI and returns its exit code: 0 ok, 1 failure, 2 usage. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help')
        return EXIT.ok
      return EXIT.usage // commander has already printed the one-line message
    }
    const message = (error as Error)?.message ?? String(error)
    process.stderr.write(`cwb: error: ${message.split('\n')[0]}\n`)
    return error instanceof UsageError ? EXIT.usage : EXIT.failure
  }
}
