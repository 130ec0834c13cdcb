import { Command, Option } from 'commander'
import { z } from 'zod'
import { groundTruthReward } from '../../engine/answers/equivalence'
import { EXTRACTORS, extractAnswer } from '../../engine/answers/extract'
import type { Extractor } from '../../engine/answers/extract'
import { inputOption, mapJsonLines, parseLine } from '../jsonl'

const ScoreLine = z.object({ response: z.string(), ground_truth: z.string() })

export function scoreCommand(): Command {
  return new Command('score')
    .description('score responses against ground truths offline, as the reference GT reward does (no workspace)')
    .addOption(inputOption())
    .addOption(new Option('--extractor <name>', 'how to find the final answer').choices(EXTRACTORS).default('boxed'))
    .addHelpText(
      'after',
      '\nEach input line: {"response": "...", "ground_truth": "..."}\nEach output line: {"answer": "<extracted, \\"\\" if none>", "score": 0|1}',
    )
    .action(async (options: { input: string; extractor: Extractor }) => {
      await mapJsonLines(options.input, (record, line) => {
        const { response, ground_truth } = parseLine(ScoreLine, record, line)
        const answer = extractAnswer(response, options.extractor)
        return { answer: answer ?? '', score: groundTruthReward(answer, ground_truth) }
      })
    })
}
