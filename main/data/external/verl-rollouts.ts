// verl rollout dumps: `<rollout_data_dir>/<step>.jsonl`, one object per response with `input`, `output`, `score`,
// `step` (and `gts` in the Co-rewarding-II fork). Responses are grouped into question groups by (step, input) in
// the order they first appear, and re-scored here under ground truth (where `gts` is dumped) and majority voting
// with the workbench's reward code, so an imported run can be audited like a local one.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { groundTruthReward } from '../../engine/answers/equivalence'
import { extractAnswer } from '../../engine/answers/extract'
import { labelReward, majorityVote } from '../../engine/answers/vote'
import { groupAdvantages } from '../../engine/grpo/advantages'
import type { SampleRow } from '../../store/samples'

export interface DumpStep {
  step: number
  file: string
  samples: SampleRow[]
  /** Re-scoring of the step: rescore/majority_voting/mean, rescore/ground_truth/mean and rescore/pseudo_acc (with gts). */
  metrics: Record<string, number>
  /** Ground truths by group index, where dumped. */
  groundTruths: (string | null)[]
}

/** The dump files of a folder, by step, ascending. */
export function dumpFiles(dir: string): { step: number; file: string }[] {
  return readdirSync(dir)
    .map((name) => ({ name, match: /^(\d+)\.jsonl$/.exec(name) }))
    .filter((entry) => entry.match !== null)
    .map((entry) => ({ step: Number(entry.match![1]), file: join(dir, entry.name) }))
    .sort((a, b) => a.step - b.step)
}

interface DumpRow {
  input: string
  output: string
  score: number
  gts: string | null
}

function readDump(file: string): DumpRow[] {
  const text = readFileSync(file, 'utf8')
  const complete = text.slice(0, text.lastIndexOf('\n') + 1) // an unterminated last line is still being written
  const rows: DumpRow[] = []
  complete.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    let value: Record<string, unknown>
    try {
      value = JSON.parse(line) as Record<string, unknown>
    } catch (error) {
      throw new Error(`${file}: line ${i + 1}: not valid JSON (${(error as Error).message}).`, { cause: error })
    }
    for (const field of ['input', 'output'] as const) {
      if (typeof value[field] !== 'string') throw new Error(`${file}: line ${i + 1}: field "${field}" should be text.`)
    }
    const score = typeof value.score === 'number' ? value.score : Number(value.score)
    if (!Number.isFinite(score))
      throw new Error(`${file}: line ${i + 1}: field "score" should be a number, got ${JSON.stringify(value.score)}.`)
    const gts = value.gts === undefined || value.gts === null ? null : String(Array.isArray(value.gts) ? value.gts[0] : value.gts)
    rows.push({ input: value.input as string, output: value.output as string, score, gts })
  })
  return rows
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length

export function readDumpStep(step: number, file: string): DumpStep {
  const groups = new Map<string, DumpRow[]>()
  for (const row of readDump(file)) groups.set(row.input, [...(groups.get(row.input) ?? []), row])
  const samples: SampleRow[] = []
  const mv: number[] = []
  const gt: number[] = []
  let pseudoHits = 0
  let labelled = 0
  const groundTruths: (string | null)[] = []
  ;[...groups.values()].forEach((rows, groupIndex) => {
    const answers = rows.map((row) => extractAnswer(row.output, 'boxed'))
    const vote = majorityVote(answers)
    const advantages = groupAdvantages(rows.map((row) => row.score))
    const truth = rows.find((row) => row.gts !== null)?.gts ?? null
    groundTruths.push(truth)
    rows.forEach((row, i) => {
      mv.push(labelReward(answers[i]!, vote.label))
      if (truth !== null) gt.push(groundTruthReward(answers[i]!, truth))
      samples.push({
        groupIndex,
        view: 'original',
        prompt: row.input,
        text: row.output,
        answer: answers[i] ?? '',
        pseudoLabel: vote.label,
        reward: row.score,
        advantage: advantages[i]!,
        gt: truth,
      })
    })
    if (truth !== null) {
      labelled++
      if (vote.label === truth) pseudoHits++
    }
  })
  const metrics: Record<string, number> = {}
  if (mv.length > 0) metrics['rescore/majority_voting/mean'] = mean(mv)
  if (gt.length > 0) metrics['rescore/ground_truth/mean'] = mean(gt)
  if (labelled > 0) metrics['rescore/pseudo_acc'] = pseudoHits / labelled
  return { step, file, samples, metrics, groundTruths }
}
