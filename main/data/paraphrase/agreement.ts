// The agreement preview: before training Co-rewarding-I on a pair, sample a checkpoint G times on the original and
// on each paraphrase and compare their majority answers, as the trainer's vote would (exact strings, empty answers
// not voting). A pair whose majorities differ gives the policy a label for another problem: it deserves a look.
// The checkpoint may be of any family the engine runs (cwb-gpt, a Hugging Face qwen2 / qwen3 / llama folder, a LoRA
// checkpoint over its base), prompted with its own template and system message. Each pair's result is stored as a
// finding of check `agreement` (agreementFinding) by the caller.
import { majorityVote } from '../../engine/answers/vote'

export interface AgreementPair {
  record: number
  question: string
  paraphrases: { id: number; text: string }[]
}

export interface PairAgreement {
  record: number
  paraphrase: number
  /** The majority answers ("" when no sample gave an answer). */
  original: string
  rewrite: string
  agree: boolean
  /** How many samples gave each answer (samples without an answer are not counted). */
  originalVotes: Record<string, number>
  rewriteVotes: Record<string, number>
}

export interface AgreementOptions {
  folder: string
  samples: number
  maxNewTokens?: number
  temperature?: number
  seed?: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
  /** A record's pairs, as soon as they are sampled (to store them: a stopped preview keeps what it sampled). */
  onRecord?: (results: PairAgreement[]) => void
}

const DEFAULT_MAX_NEW_TOKENS = 32

function tally(answers: string[]): Record<string, number> {
  const votes: Record<string, number> = {}
  for (const answer of answers) if (answer) votes[answer] = (votes[answer] ?? 0) + 1
  return votes
}

export async function agreementPreview(pairs: readonly AgreementPair[], options: AgreementOptions): Promise<PairAgreement[]> {
  // The engine loads only when a model is used.
  const { extractAnswer } = await import('../../engine/answers/extract')
  const { useBackend } = await import('../../engine/backend')
  const { promptFor } = await import('../../engine/evaluate')
  const { openProbedModel } = await import('../../engine/checkpoint/probe')
  const { generate, tfjsLogits } = await import('../../engine/sampling')
  await useBackend()
  const model = openProbedModel(options.folder)
  const { tokenizer } = model
  const context = model.contextTokens
  const wanted = options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS
  const results: PairAgreement[] = []
  try {
    for (const [i, pair] of pairs.entries()) {
      if (options.signal?.aborted) break
      const texts = [pair.question, ...pair.paraphrases.map((p) => p.text)]
      const prompts = texts.map((text) => promptFor(tokenizer, model.systemPrompt, text))
      const longest = Math.max(...prompts.map((p) => p.length))
      const budget = Math.min(wanted, context - longest)
      if (budget < 1) {
        throw new Error(
          `Record ${pair.record}: a prompt of ${longest} tokens leaves no room in the model's context of ${context} tokens (${options.folder}/config.json max_position_embeddings); choose a model with a longer context.`,
        )
      }
      const completions = await generate(tfjsLogits(model.model), prompts, {
        temperature: options.temperature ?? 1,
        topP: 1,
        maxNewTokens: budget,
        samples: options.samples,
        seed: (options.seed ?? 0) + i,
        eosTokenId: tokenizer.eosTokenId,
        stopTokenIds: model.stopTokenIds,
        padTokenId: model.padTokenId,
      })
      const answersOf = (prompt: number): string[] =>
        completions.filter((c) => c.prompt === prompt).map((c) => extractAnswer(tokenizer.decode(c.tokens)) ?? '')
      const original = answersOf(0)
      const originalLabel = majorityVote(original).label
      const recordResults: PairAgreement[] = []
      pair.paraphrases.forEach((paraphrase, p) => {
        const rewrite = answersOf(p + 1)
        const rewriteLabel = majorityVote(rewrite).label
        recordResults.push({
          record: pair.record,
          paraphrase: paraphrase.id,
          original: originalLabel,
          rewrite: rewriteLabel,
          agree: originalLabel !== '' && originalLabel === rewriteLabel,
          originalVotes: tally(original),
          rewriteVotes: tally(rewrite),
        })
      })
      results.push(...recordResults)
      options.onRecord?.(recordResults)
      options.onProgress?.(i + 1, pairs.length)
      await new Promise((resolve) => setImmediate(resolve))
    }
  } finally {
    model.dispose()
  }
  return results
}

const voteWords = (votes: Record<string, number>, answer: string, samples: number): string =>
  `${answer} (${votes[answer] ?? 0} of ${samples})`

/**
 * A pair's agreement as a finding of check `agreement`: majorities that differ are an error, no majority on the
 * original a warning (the checkpoint cannot answer it, so it says nothing about the rewrite), agreement a note.
 */
export function agreementFinding(
  result: PairAgreement,
  checkpoint: string,
  samples: number,
): { check: 'agreement'; severity: 'error' | 'warning' | 'note'; message: string } {
  const on = `${checkpoint} (G=${samples})`
  if (result.agree) {
    return {
      check: 'agreement',
      severity: 'note',
      message: `Majority answers agree on ${on}: ${result.original} (${result.originalVotes[result.original] ?? 0} of ${samples} on the original, ${result.rewriteVotes[result.rewrite] ?? 0} of ${samples} on the paraphrase).`,
    }
  }
  if (result.original === '') {
    return {
      check: 'agreement',
      severity: 'warning',
      message: `No sample of ${on} gave an answer on the original, so its answers cannot be compared; the paraphrase's majority is ${result.rewrite ? voteWords(result.rewriteVotes, result.rewrite, samples) : 'none either'}.`,
    }
  }
  return {
    check: 'agreement',
    severity: 'error',
    message: `Majority answers differ on ${on}: original ${voteWords(result.originalVotes, result.original, samples)}, paraphrase ${result.rewrite ? voteWords(result.rewriteVotes, result.rewrite, samples) : 'no answer'}.`,
  }
}
