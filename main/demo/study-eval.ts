// maj@K of a checkpoint on the study's held-out questions: the trainer validates greedily, and the study samples K
// completions per question at temperature 1 from each validated checkpoint, on onnxruntime as the trainer decodes.
import { useBackend } from '../engine/backend'
import { evaluate } from '../engine/evaluate'
import type { LabelledQuestion } from '../engine/evaluate'
import type { Extractor } from '../engine/answers/extract'
import { systemPromptFor } from '../engine/prompt'
import { openPolicy } from '../engine/trainer/policy'

export interface SampledAccuracy {
  questions: number
  /** Greedy. */
  pass1: number
  avgK: number
  passK: number
  majK: number
}

export async function sampledAccuracy(
  folder: string,
  questions: LabelledQuestion[],
  options: { samples: number; seed: number; maxNewTokens: number; extractor: Extractor },
): Promise<SampledAccuracy> {
  await useBackend()
  const policy = openPolicy(folder, { seed: 0 })
  const session = await policy.rolloutSession()
  try {
    const feeds = policy.onnxFeeds(policy.model)
    const result = await evaluate(() => session.sampler(feeds), policy.tokenizer, questions, {
      systemPrompt: systemPromptFor(policy.modelType),
      stopTokenIds: policy.stopTokenIds,
      maxNewTokens: options.maxNewTokens,
      samples: options.samples,
      temperature: 1,
      seed: options.seed,
      extractor: options.extractor,
    })
    return { questions: result.questions, pass1: result.pass1, avgK: result.avgK!, passK: result.passK!, majK: result.majK! }
  } finally {
    await session.release()
    policy.dispose()
  }
}
