// Whether a dataset's prompts fit a model, judged before a run is launched so that a dataset the model cannot read is
// refused in place (the launch form, `cwb train`) rather than at step 0: the longest prompt, rendered as the trainer
// renders it (the model's system message and chat template), against max_prompt_tokens and the model's context; and
// the share of the questions' tokens that the model's tokenizer does not know (a word-level vocabulary reading MATH
// text turns most of it into <unk>).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { adapterBase, isAdapterFolder } from './checkpoint/adapter'
import { promptFor } from './evaluate'
import { systemPromptFor } from './prompt'
import { loadTokenizerFolder } from './tokenizer/tokenizer'

/** A text the trainer will prompt the model with, and how a message names it (e.g. `record 3 of dataset "x" (id 7)`). */
export interface PromptText {
  text: string
  label: string
}

export interface PromptFit {
  prompts: number
  /** The longest rendered prompt, in tokens, and whose it is. */
  longest: { tokens: number; label: string } | null
  /** Tokens of the texts themselves (no template), and how many of them are the tokenizer's unk_token. */
  tokens: number
  unknown: number
  /** The first text with an unknown token. */
  firstUnknown: string | null
  /** The model's context (max_position_embeddings), when its config says. */
  context: number | undefined
}

/** Rendered prompts measured exactly: the longest few by their texts' own length (a template adds about the same to each). */
const EXACT = 8

/** How each group of texts of a run fits the model in `folder` (an adapter folder is read through its base). */
export function promptFits(folder: string, groups: readonly (readonly PromptText[])[]): PromptFit[] {
  const modelFolder = isAdapterFolder(folder) ? adapterBase(folder) : folder
  const config = JSON.parse(readFileSync(join(modelFolder, 'config.json'), 'utf8')) as Record<string, unknown>
  const tokenizer = loadTokenizerFolder(modelFolder)
  const system = systemPromptFor(String(config.model_type))
  const context = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : undefined
  return groups.map((texts) => {
    let tokens = 0
    let unknown = 0
    let firstUnknown: string | null = null
    const lengths = texts.map(({ text, label }) => {
      const ids = tokenizer.encode(text)
      tokens += ids.length
      const unknownHere = tokenizer.unkTokenId === undefined ? 0 : ids.filter((id) => id === tokenizer.unkTokenId).length
      unknown += unknownHere
      if (unknownHere > 0 && firstUnknown === null) firstUnknown = label
      return ids.length
    })
    const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]!)
    let longest: PromptFit['longest'] = null
    for (const i of order.slice(0, EXACT)) {
      const length = promptFor(tokenizer, system, texts[i]!.text).length
      if (!longest || length > longest.tokens) longest = { tokens: length, label: texts[i]!.label }
    }
    return { prompts: texts.length, longest, tokens, unknown, firstUnknown, context }
  })
}

/** Above this share of unknown tokens, the model cannot read the dataset. */
export const UNKNOWN_LIMIT = 0.02

/**
 * What is wrong with a fit for a run with these limits, each with the config field to change and the numbers; `what`
 * names the texts ("training questions"). Empty when the dataset fits.
 */
export function promptFitIssues(
  fit: PromptFit,
  limits: { max_prompt_tokens: number; max_response_tokens: number },
  what: string,
): { field: string; message: string }[] {
  const issues: { field: string; message: string }[] = []
  const otherModel =
    'choose a model that reads it, such as a qwen2, qwen3 or llama folder (`cwb checkpoints`, or a Hugging Face id)'
  if (fit.tokens > 0 && fit.unknown / fit.tokens > UNKNOWN_LIMIT) {
    const share = `${((100 * fit.unknown) / fit.tokens).toFixed(1)}%`
    issues.push({
      field: 'dataset',
      message: `${share} of the ${what}' tokens (${fit.unknown} of ${fit.tokens}) are unknown to the model's tokenizer, first in ${fit.firstUnknown}: the model cannot read this text; ${otherModel}`,
    })
  }
  const longest = fit.longest
  if (!longest) return issues
  const { context } = fit
  if (context !== undefined && longest.tokens > context) {
    issues.push({
      field: 'checkpoint',
      message: `the longest of the ${what} (${longest.label}) is a ${longest.tokens}-token prompt, and the model reads at most ${context} tokens: ${otherModel}, or shorten the questions`,
    })
  } else if (context !== undefined && longest.tokens + limits.max_response_tokens > context) {
    issues.push({
      field: 'max_response_tokens',
      message: `the longest of the ${what} (${longest.label}) is a ${longest.tokens}-token prompt, and the model reads at most ${context} tokens: lower max_response_tokens to ${context - longest.tokens} or less`,
    })
  }
  if (longest.tokens > limits.max_prompt_tokens && (context === undefined || longest.tokens <= context)) {
    issues.push({
      field: 'max_prompt_tokens',
      message: `the longest of the ${what} (${longest.label}) is a ${longest.tokens}-token prompt, over max_prompt_tokens ${limits.max_prompt_tokens}: raise max_prompt_tokens to ${longest.tokens}${context !== undefined ? ` (the model reads ${context} tokens in all)` : ''}`,
    })
  }
  return issues
}
