import { Command, Option } from 'commander'
import { PROBE_ENGINES } from '../../../preload/contract'
import type { BehaviourDiffResult, WeightDelta } from '../../../preload/contract'
import type { ProbeEngine } from '../../engine/checkpoint/probe'
import { runBehaviourDiff } from '../../services/checkpoints/behaviour'
import { weightDelta, WeightsWorker } from '../../services/checkpoints/weights'
import { UsageError } from '../errors'
import { printJson, progress, table } from '../output'
import { integerOption, numberOption } from '../parse'
import { openWorkspaceStore, withWorkspace } from '../workspace-option'
import type { WorkspaceOptions } from '../workspace-option'

interface DiffOptions extends WorkspaceOptions {
  teacher?: boolean
  weights?: boolean
  probe: number
  samples: number
  dataset?: string
  split?: string
  temperature: number
  seed: number
  maxNewTokens: number
  engine: ProbeEngine
  json?: boolean
}

const oneLine = (text: string, width = 70): string => {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > width ? `${flat.slice(0, width - 3)}...` : flat
}
const answer = (text: string): string => (text === '' ? '(none)' : text)

function report(result: BehaviourDiffResult): string {
  const { summary } = result
  const lines = [
    `A: ${result.a.label}`,
    `B: ${result.b.label}`,
    `Probe: ${summary.questions} question(s) of dataset ${result.dataset}, ${result.split === null ? 'all labelled records' : `split ${result.split}`}; greedy${summary.samples > 0 ? ` and ${summary.samples} samples each` : ''}`,
  ]
  for (const flip of ['correct->wrong', 'wrong->correct'] as const) {
    const flipped = result.rows.filter((row) => row.flip === flip)
    lines.push(`Flipped ${flip} (${flipped.length})${flipped.length === 0 ? ': none' : ':'}`)
    for (const row of flipped) {
      const votes = summary.samples > 0 ? `  (votes: A ${answer(row.a.vote)}, B ${answer(row.b.vote)})` : ''
      lines.push(
        `  #${row.index + 1}${row.record === null ? '' : ` record ${row.record}`}: ${oneLine(row.question)}`,
        `      GT ${row.gt}   A ${answer(row.a.greedy.answer)} -> B ${answer(row.b.greedy.answer)}${votes}`,
      )
    }
  }
  const sides = (pick: (side: BehaviourDiffResult['summary']['a']) => number | null, digits: number): string =>
    `A ${pick(summary.a)?.toFixed(digits) ?? '-'}, B ${pick(summary.b)?.toFixed(digits) ?? '-'}`
  lines.push(
    `Greedy answer length (tokens): ${sides((s) => s.greedyLength, 1)}; token entropy (nats): ${sides((s) => s.greedyEntropy, 3)}`,
  )
  if (summary.samples > 0) {
    lines.push(
      `Sampled (G=${summary.samples}): answer length ${sides((s) => s.sampleLength, 1)}; token entropy ${sides((s) => s.sampleEntropy, 3)}; vote correct A ${summary.a.voteCorrect}/${summary.labelled}, B ${summary.b.voteCorrect}/${summary.labelled}`,
    )
  }
  lines.push(summary.line)
  return `${lines.join('\n')}\n`
}

const number = (value: number | null): string => {
  if (value === null) return '-'
  if (value === 0) return '0'
  return Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5 ? value.toExponential(3) : String(+value.toPrecision(4))
}

/** The weight delta as text: what was compared, the totals, then per layer. */
function weightReport(a: string, delta: WeightDelta): string {
  const adapters = delta.tensors.length > 0 && delta.tensors.every((t) => t.name.includes('.lora_'))
  const { total } = delta
  const lines = [
    `A: ${a === delta.path ? a : `${a} (${delta.path})`}`,
    `B: ${delta.against.label}`,
    `Compared: ${delta.tensors.length} tensor(s), ${total.count.toLocaleString('en')} weights${adapters ? ' (the LoRA adapters A and B)' : ''}`,
    `All: |A-B| ${number(total.diffNorm)}, |A-B|/|B| ${number(total.relative)}, max |A-B| ${number(total.maxAbs)}, 1 - cos ${number(total.cosine === null ? null : Math.max(0, 1 - total.cosine))}`,
    '',
    table([
      ['LAYER', 'TENSORS', '|A-B|', '|A-B|/|B|', 'MAX |A-B|'],
      ...delta.layers.map((l) => [l.layer, String(l.tensors), number(l.diffNorm), number(l.relative), number(l.maxAbs)]),
    ]),
  ]
  if (delta.onlyInA.length) lines.push(`Only in A (${delta.onlyInA.length}): ${delta.onlyInA.slice(0, 5).join(', ')}`)
  if (delta.onlyInB.length) lines.push(`Only in B (${delta.onlyInB.length}): ${delta.onlyInB.slice(0, 5).join(', ')}`)
  if (delta.mismatched.length)
    lines.push(`Different shapes (${delta.mismatched.length}): ${delta.mismatched.slice(0, 5).join('; ')}`)
  return `${lines.join('\n')}\n`
}

export function diffCommand(): Command {
  return withWorkspace(new Command('diff'))
    .description(
      'compare the behaviour of two checkpoints (or a checkpoint and its EMA teacher) on held-out questions: flipped answers and summary counts; with --weights, how far their weights differ per layer',
    )
    .argument('<a>', 'checkpoint A: a folder, RUN:STEP, or base')
    .argument('[b]', 'checkpoint B (leave out with --teacher)')
    .option('--teacher', "compare A with its own EMA teacher (Co-rewarding-II's teacher.safetensors)")
    .option(
      '--weights',
      'compare the weights instead of the behaviour, per layer: two LoRA checkpoints of one base compare their adapters, a LoRA checkpoint and a full model (e.g. its base) the merged weights; different architectures are refused',
    )
    .addOption(
      new Option('--probe <n>', 'probe the first N held-out questions').default(32).argParser(integerOption('--probe', 1)),
    )
    .addOption(
      new Option('--samples <g>', 'sampled answers per question (their majority vote is compared too); 0 = greedy only')
        .default(4)
        .argParser(integerOption('--samples', 0)),
    )
    .option('--dataset <dataset>', "the probe dataset (default: the dataset of A's, else B's, run)")
    .option('--split <split>', "the probe split (default: the run's validation split, else test, else validation)")
    .addOption(new Option('--temperature <t>', 'sampling temperature').default(1).argParser(numberOption('--temperature', 0, 10)))
    .addOption(new Option('--seed <n>', 'sampling seed (the same for A and B)').default(0).argParser(integerOption('--seed', 0)))
    .addOption(
      new Option('--max-new-tokens <n>', 'token budget per answer').default(32).argParser(integerOption('--max-new-tokens', 1)),
    )
    .addOption(new Option('--engine <engine>', 'inference engine').choices([...PROBE_ENGINES]).default('tfjs'))
    .option(
      '--json',
      'print the full result {"a", "b", "dataset", "split", "rows": [...], "summary"} (with --weights: the weight delta {"path", "against", "tensors", "layers", "total", ...}) as the last stdout line',
    )
    .action(async (a: string, b: string | undefined, options: DiffOptions) => {
      if (options.teacher && b !== undefined) throw new UsageError('give checkpoint B or --teacher, not both')
      if (!options.teacher && b === undefined)
        throw new UsageError("give checkpoint B to compare with, or --teacher for A's EMA teacher")
      const { store } = openWorkspaceStore(options)
      if (options.weights) {
        try {
          progress(`Comparing the weights of ${a} and ${b ?? 'its EMA teacher'}...`)
          const delta = await weightDelta(store.db, new WeightsWorker(), a, b ?? 'teacher')
          if (options.json) return printJson(delta)
          process.stdout.write(weightReport(a, delta))
          return
        } finally {
          store.close()
        }
      }
      try {
        const result = await runBehaviourDiff(
          store.db,
          {
            a,
            b,
            teacher: options.teacher ?? false,
            probe: options.probe,
            samples: options.samples,
            dataset: options.dataset,
            split: options.split,
            temperature: options.temperature,
            seed: options.seed,
            maxNewTokens: options.maxNewTokens,
            engine: options.engine,
          },
          { onProgress: (stage, done, total) => progress(`${stage}: ${done}/${total} answers`) },
        )
        if (options.json) return printJson(result)
        process.stdout.write(report(result))
      } finally {
        store.close()
      }
    })
}
