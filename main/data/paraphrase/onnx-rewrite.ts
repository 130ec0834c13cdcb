// Paraphrase generation with a local causal language model through onnxruntime-node: the checkpoint is exported
// to ONNX (main/engine/onnx), the rewrite prompt goes through the model's chat template, one completion is
// sampled per question and the rewrite is read between the markers, as from an endpoint. Every record ends with a
// paraphrase or the reason it has none (a prompt past the model's context, no markers in the output).
import { DEFAULT_REWRITE_PROMPT, parseRewrite } from './openai'
import type { RewriteJob, RewriteOutcome } from './openai'

export interface OnnxRewriteOptions {
  /** The checkpoint folder (Hugging Face layout, as the engine reads it). */
  folder: string
  /** The rewrite prompt; `{question}` is replaced by the question. */
  prompt?: string
  /** New tokens per rewrite. */
  maxTokens: number
  temperature?: number
  topP?: number
  seed?: number
}

export async function onnxRewriteAll(
  options: OnnxRewriteOptions,
  jobs: readonly RewriteJob[],
  onOutcome: (outcome: RewriteOutcome) => void,
  signal?: AbortSignal,
): Promise<{ done: number; cancelled: boolean }> {
  // The engine loads only when a model is used.
  const { useBackend } = await import('../../engine/backend')
  const { loadModel } = await import('../../engine/model/load')
  const { onnxLogits } = await import('../../engine/onnx/generate')
  const { OnnxModel } = await import('../../engine/onnx/session')
  const { generate } = await import('../../engine/sampling')
  await useBackend()
  const model = loadModel(options.folder)
  let onnx
  try {
    onnx = await OnnxModel.ofTransformer(model.transformer)
  } finally {
    model.transformer.dispose()
  }
  const { tokenizer } = model
  const context = model.config.max_position_embeddings
  let done = 0
  try {
    for (const [i, job] of jobs.entries()) {
      if (signal?.aborted) break
      const content = (options.prompt ?? DEFAULT_REWRITE_PROMPT).replaceAll('{question}', job.question)
      const prompt = tokenizer.chatPrompt([{ role: 'user', content }])
      if (prompt.length + options.maxTokens > context) {
        onOutcome({
          id: job.id,
          ok: false,
          attempts: 1,
          reason: `the prompt is ${prompt.length} tokens, and with ${options.maxTokens} new tokens it passes the model's context of ${context} (max_position_embeddings); use a shorter prompt or a model with a longer context`,
        })
      } else {
        const [completion] = await generate(onnxLogits(onnx), [prompt], {
          temperature: options.temperature ?? 0.7,
          topP: options.topP ?? 0.9,
          maxNewTokens: options.maxTokens,
          samples: 1,
          seed: (options.seed ?? 0) + i,
          eosTokenId: tokenizer.eosTokenId,
          padTokenId: tokenizer.padTokenId,
        })
        const parsed = parseRewrite(tokenizer.decode(completion!.tokens))
        onOutcome(
          'text' in parsed
            ? { id: job.id, ok: true, text: parsed.text, attempts: 1 }
            : { id: job.id, ok: false, reason: parsed.reason, attempts: 1 },
        )
      }
      done++
      // Let progress events and a cancel through between records.
      await new Promise((resolve) => setImmediate(resolve))
    }
  } finally {
    await onnx.release()
  }
  return { done, cancelled: signal?.aborted ?? false }
}
