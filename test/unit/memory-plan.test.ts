// The memory plan: parameter counts, each component worked by hand on a tiny model, LoRA's trainable count, the
// teacher only for Co-rewarding-II, a model too big for wasm refused with advice, and the plan against tfjs's own
// measured peak memory (tf.profile) for a real update, log-prob pass and rollout.
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { useBackend } from '../../main/engine/backend'
import {
  backendMemoryLimit,
  cwbGptPlanModel,
  formatPlan,
  GIB,
  loraParameters,
  memoryPlan,
  planModelFromConfig,
} from '../../main/engine/memory-plan'
import type { MemoryPlan, PlanComponent, PlanRun } from '../../main/engine/memory-plan'
import { loadCausalLM } from '../../main/engine/model/causal-lm'
import { ModelConfig } from '../../main/engine/model/config'
import { Decoder } from '../../main/engine/model/families/decoder'
import { LORA_MODULES, LoraAdapters, loraLayers } from '../../main/engine/model/lora'
import { Transformer } from '../../main/engine/model/transformer'
import { accumulatedGradients } from '../../main/engine/optim/accumulate'
import { generate, tfjsLogits } from '../../main/engine/sampling'
import { microBatchLoss, responseTokenStats } from '../../main/engine/trainer/grpo'
import type { ForwardModel } from '../../main/engine/trainer/grpo'
import { TINY_QWEN3_PLAN_CONFIG, writeRandomWeights } from '../helpers/hf-folder'
import { tempDir } from '../helpers/workspace'

const cwbGpt = (fields: Record<string, unknown>): ModelConfig =>
  ModelConfig.parse({
    model_type: 'cwb-gpt',
    position_embedding_type: 'learned',
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 0,
    ...fields,
  })

const run = (fields: Partial<PlanRun> = {}): PlanRun => ({
  mode: 'ground_truth',
  batch_size: 1,
  rollouts: 2,
  max_prompt_tokens: 3,
  max_response_tokens: 1,
  micro_batch_size: 1,
  mini_batches: 1,
  logprob_engine: 'tfjs',
  ...fields,
})

const byName = (components: PlanComponent[]): Record<string, number> =>
  Object.fromEntries(components.map((c) => [c.name, c.bytes]))

const unlimited = { name: 'cpu', limitBytes: 1e15 }

// Qwen3-0.6B's published config.json (sizes only).
const QWEN3_06B = {
  model_type: 'qwen3',
  vocab_size: 151936,
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 128,
  max_position_embeddings: 40960,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  eos_token_id: 151645,
}

describe('memoryPlan on a tiny cwb-gpt, by hand', () => {
  // vocab 10, d 8, 1 layer, 2 heads, I 16, learned positions (max 8).
  // Parameters: embed 10×8 = 80, positions 8×8 = 64, ln_f 16; the layer: ln_1 16, qkv 8×24 + 24 = 216,
  // out 8×8 + 8 = 72, ln_2 16, up 8×16 + 16 = 144, down 16×8 + 8 = 136 → 600. Total 760.
  const model = cwbGptPlanModel(
    cwbGpt({
      vocab_size: 10,
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 16,
      max_position_embeddings: 8,
    }),
  )

  it('counts every component as the formulas say', () => {
    expect(model.parameters).toBe(760)
    // ground_truth, batch 1 × 2 rollouts, T = 3 + 1 = 4, micro-batch 1 → 2 micro-batches, so two gradient copies.
    const plan = memoryPlan(model, run(), unlimited)
    expect(plan.trainable).toBe(760)
    const c = byName(plan.components)
    expect(c.weights).toBe(760 * 4) // 3040
    expect(c.gradients).toBe(2 * 760 * 4) // 6080
    expect(c['optimizer state']).toBe(2 * 760 * 4) // 6080
    expect(c['KL reference']).toBe(760 * 4) // 3040
    expect(c.teacher).toBeUndefined()
    // One layer over B = 1, T = 4 (BT = 4): 4 × (31·8 + 10·16) + 4·B·H·T² = 4 × 408 + 4·1·2·16 = 1632 + 128 = 1760
    // floats; the head: 5·BT·d = 160 and the tied embedding transposed 10·8 = 80 → forward 2000 floats.
    expect(c.activations).toBe(3 * 2000 * 4) // 24000
    expect(c['backward transposes']).toBe(760 * 4)
    expect(c.logits).toBe(19 * (1 * 4 * 10) * 4) // 3040
    // tfjs log-prob pass: 1.2 × 2000 + 4 × 40 = 2560 floats.
    expect(c['log-prob pass']).toBe(2560 * 4)
    // Prefill: R = 2 rows × Tp = 3 (BT = 6): layer = 6 × 408 + 4·2·2·9 = 2592; × 1.15 = 2980.8, + 80 (tied
    // transposed) + the cache at Tp 2·1·2·8·3 = 96 → 3156.8 floats = 12627.2 B.
    expect(c['rollout prefill']).toBe(12627)
    // KV cache at T = 4: 2 rows × 1 layer × 2 × 8 × 4 = 128 floats, ×2 (old and grown), + logits [2, 10] ×2 = 296 floats.
    expect(c['rollout KV cache']).toBe(296 * 4)
    // Peak: always (weights, optimizer, reference: 12160) + update (6080 + 24000 + 3040 + 3040 = 36160).
    expect(plan.peakPhase).toBe('update')
    expect(plan.total).toBe(12160 + 36160)
    expect(plan.outside).toBe(0)
    expect(plan.fits).toBe(true)
    expect(plan.advice).toEqual([])
  })

  it('one micro-batch needs no second gradient copy; mini-batches split the rows first', () => {
    expect(byName(memoryPlan(model, run({ micro_batch_size: 2 }), unlimited).components).gradients).toBe(760 * 4)
    expect(byName(memoryPlan(model, run({ micro_batch_size: 4 }), unlimited).components).activations).toBe(
      byName(memoryPlan(model, run({ micro_batch_size: 2 }), unlimited).components).activations,
    )
    expect(byName(memoryPlan(model, run({ micro_batch_size: 2, mini_batches: 2 }), unlimited).components).activations).toBe(24000)
  })

  it('counts the ONNX pass and its frozen reference outside the wasm heap, inside the RAM of cpu', () => {
    const onWasm = memoryPlan(model, run({ logprob_engine: 'onnx' }), { name: 'wasm', limitBytes: 4 * GIB })
    const onnx = onWasm.components.filter((c) => c.name.startsWith('ONNX'))
    expect(onnx.map((c) => [c.name, c.counted])).toEqual([
      ['ONNX log-prob pass', false],
      ['ONNX frozen reference', false],
    ])
    // The pass: weights fed (760) + logits [1, 4, 10] ×2 (80) + attention 4·1·2·16 (128) + MLP 5·1·4·16 (320) = 1288 floats.
    expect(byName(onnx)['ONNX log-prob pass']).toBe(1288 * 4)
    expect(onWasm.outside).toBe((760 + 1288) * 4)
    const onCpu = memoryPlan(model, run({ logprob_engine: 'onnx' }), unlimited)
    expect(onCpu.outside).toBe(0)
    expect(onCpu.components.every((c) => c.counted)).toBe(true)
  })

  it('keeps a teacher only for co_rewarding_ii, which is also its KL reference', () => {
    for (const mode of ['ground_truth', 'majority_voting', 'self_certainty', 'entropy', 'co_rewarding_i']) {
      const names = memoryPlan(model, run({ mode, logprob_engine: 'onnx' }), unlimited).components.map((c) => c.name)
      expect(names).toContain('KL reference')
      expect(names).toContain('ONNX frozen reference')
      expect(names).not.toContain('teacher')
    }
    const co2 = memoryPlan(model, run({ mode: 'co_rewarding_ii', logprob_engine: 'onnx' }), unlimited)
    const names = co2.components.map((c) => c.name)
    expect(names).toContain('teacher')
    expect(names).not.toContain('KL reference')
    expect(names).not.toContain('ONNX frozen reference')
    expect(byName(co2.components).teacher).toBe(760 * 4)
  })
})

describe('LoRA', () => {
  // qwen3: hidden 16, 2 heads, 1 KV head, head_dim 8, I 32, 2 layers, vocab 50, untied.
  // q_proj 16→16, k_proj 16→8, v_proj 16→8, o_proj 16→16, gate/up 16→32, down 32→16.
  const model = planModelFromConfig(TINY_QWEN3_PLAN_CONFIG, 'config.json')

  it('counts rank × (in + out) per targeted module and layer', () => {
    // Parameters: embed 800, lm_head 800, norm 16; per layer: norms 16 + 16, q 256, k 128, v 128, o 256,
    // q/k norms 8 + 8, gate 512, up 512, down 512 = 2352 → 2 × 2352 + 1616 = 6320.
    expect(model.parameters).toBe(6320)
    // rank 4 on q_proj, v_proj: 4·(16 + 16) + 4·(16 + 8) = 224 per layer → 448.
    const lora = { rank: 4, alpha: 8, target_modules: ['q_proj', 'v_proj'] }
    expect(loraParameters(model, lora)).toBe(448)
    // all-linear: q 128 + k 96 + v 96 + o 128 + gate 192 + up 192 + down 4·(32 + 16) = 192 → 1024 per layer → 2048.
    expect(loraParameters(model, { ...lora, target_modules: ['all-linear'] })).toBe(2048)
    const plan = memoryPlan(model, run({ lora, mode: 'co_rewarding_ii' }), unlimited)
    expect(plan.parameters).toBe(6320)
    expect(plan.trainable).toBe(448)
    const c = byName(plan.components)
    expect(c.weights).toBe((6320 + 448) * 4)
    expect(c['optimizer state']).toBe(2 * 448 * 4)
    expect(c.gradients).toBe(2 * 448 * 4)
    // The teacher is a copy of the adapters only.
    expect(c.teacher).toBe(448 * 4)
  })
})

describe('a model too big for the backend', () => {
  const model = planModelFromConfig(QWEN3_06B, 'Qwen3-0.6B/config.json')
  const demoRun = run({ batch_size: 8, rollouts: 8, max_prompt_tokens: 48, max_response_tokens: 32, micro_batch_size: 32 })

  it('is refused on wasm with advice naming LoRA and the micro-batch, each planned', () => {
    expect(model.parameters).toBeGreaterThan(590e6)
    expect(model.parameters).toBeLessThan(600e6)
    const plan = memoryPlan(model, demoRun, { name: 'wasm', limitBytes: backendMemoryLimit('wasm') }, { alternatives: [] })
    expect(plan.limit).toBe(4 * GIB)
    expect(plan.fits).toBe(false)
    // Weights alone are 2.2 GiB, optimizer state 4.4 GiB.
    expect(byName(plan.components)['optimizer state']).toBe(2 * model.parameters * 4)
    expect(plan.advice.find((a) => a.startsWith('use LoRA (lora.rank 16 on q_proj,v_proj'))).toBeDefined()
    expect(plan.advice.find((a) => a.startsWith('micro_batch_size '))).toBeDefined()
    // Even LoRA, micro-batch 1, 16-token budgets and one question stay over: the weights (2.2 GiB), the tied head's
    // transposed copies in the backward pass (1.2 GiB) and the logits alone overflow the heap; the advice says so.
    const together = plan.advice.find((a) => a.startsWith('together: LoRA (rank 16), micro_batch_size 1'))
    expect(together).toMatch(
      /max_prompt_tokens 16, max_response_tokens 16, batch_size 1: total \d+\.\d+ GiB, still over 4\.00 GiB$/,
    )
    // The advice's numbers are the plan's own: LoRA's total is the plan with LoRA.
    const lora = { rank: 16, alpha: 32, target_modules: ['q_proj', 'v_proj'] }
    const withLora = memoryPlan(model, { ...demoRun, lora }, { name: 'wasm', limitBytes: 4 * GIB })
    expect(plan.advice[0]).toContain(`total ${(withLora.total / GIB).toFixed(0)} GiB`)
    expect(formatPlan(plan)).toContain('does not fit')
  })

  it('names the GPU backend and the machine RAM backend when they are given as alternatives', () => {
    const plan = memoryPlan(
      model,
      demoRun,
      { name: 'wasm', limitBytes: 4 * GIB },
      {
        alternatives: [
          { name: 'tensorflow-gpu', limitBytes: Infinity },
          { name: 'tensorflow', limitBytes: 1024 * GIB },
        ],
      },
    )
    expect(plan.advice.some((a) => a.startsWith('the tensorflow-gpu backend'))).toBe(true)
    expect(plan.advice.some((a) => a.startsWith('the tensorflow backend (limit 1024 GiB'))).toBe(true)
  })

  it("counts wasm's packed copies of the weights it multiplies by (XNNPACK), on wasm only", () => {
    // Qwen3-0.6B ties its head, so every weight is multiplied by: the packed copies are as large as the weights,
    // which alone then pass wasm's 4 GiB heap (the scale bench saw a tfjs forward abort there).
    const onWasm = byName(memoryPlan(model, demoRun, { name: 'wasm', limitBytes: 4 * GIB }).components)
    expect(onWasm['XNNPACK packed weights']).toBe(model.parameters * 4)
    expect(onWasm['weights']! + onWasm['XNNPACK packed weights']!).toBeGreaterThan(4 * GIB)
    const onCpu = byName(memoryPlan(model, demoRun, { name: 'cpu', limitBytes: 64 * GIB }).components)
    expect(onCpu['XNNPACK packed weights']).toBeUndefined()
  })

  it('takes the limits of the backends', () => {
    expect(backendMemoryLimit('wasm')).toBe(4 * GIB)
    expect(backendMemoryLimit('cpu')).toBeGreaterThan(0)
    expect(backendMemoryLimit('tensorflow-gpu')).toBe(Infinity)
    expect(backendMemoryLimit('tensorflow-gpu', 24 * GIB)).toBe(24 * GIB)
  })
})

/** Peak bytes tfjs holds (tf.profile) over weights already loaded: a micro-batch update of B rows, the log-prob pass
 * over them, and their rollouts. tf.profile returns one shared object: each peak is read before the next profile. */
async function measure(model: ForwardModel & Parameters<typeof tfjsLogits>[0], B: number, Tp: number, Tr: number) {
  const rows = Array.from({ length: B }, (_, r) => ({
    prompt: Array.from({ length: Tp }, (_, i) => 3 + ((i + r) % 50)),
    response: Array.from({ length: Tr }, (_, i) => 3 + ((i * 7 + r) % 50)),
    advantage: r % 2 ? 1 : -1,
    oldLogProbs: new Float32Array(Tr).fill(-3),
    refLogProbs: new Float32Array(Tr).fill(-3),
    weight: 1 / (B * Tr),
  }))
  const settings = { clipLow: 0.2, clipHigh: 0.2, dualClip: 3, klCoef: 0.001 }
  const base = tf.memory().numBytes
  const update =
    (
      await tf.profile(() => {
        const { grads } = accumulatedGradients([() => microBatchLoss(model, rows, settings, 0).loss])
        tf.dispose(Object.values(grads))
      })
    ).peakBytes - base
  const logprob = (await tf.profile(() => void responseTokenStats(model, rows, 0, B, true))).peakBytes - base
  const prompts = rows.map((row) => row.prompt)
  const sampling = { temperature: 1, topP: 1, maxNewTokens: Tr, samples: 1, seed: 1, eosTokenId: 9999, padTokenId: 0 }
  const rollout = (await tf.profile(async () => void (await generate(tfjsLogits(model), prompts, sampling)))).peakBytes - base
  return { update, logprob, rollout }
}

/** Each measured phase over the plan's components for it; each ratio must lie within 30%. */
function ratios(plan: MemoryPlan, measured: { update: number; logprob: number; rollout: number }): Record<string, string> {
  const c = byName(plan.components)
  const planned = {
    update: c.gradients! + c.activations! + c['backward transposes']! + c.logits! + (c['frozen weight gradients'] ?? 0),
    logprob: c['log-prob pass']!,
    rollout: c['rollout prefill']! + c['rollout KV cache']!,
  }
  return Object.fromEntries(
    Object.entries(measured).map(([phase, bytes]) => {
      const ratio = bytes / planned[phase as keyof typeof planned]
      return [phase, ratio > 0.7 && ratio < 1.3 ? 'within 30%' : ratio.toFixed(2)]
    }),
  )
}

const within = { update: 'within 30%', logprob: 'within 30%', rollout: 'within 30%' }

describe('the plan against tfjs memory measured on wasm', () => {
  it('is within 30% of the peak of an update, a log-prob pass and a rollout', async () => {
    await useBackend('wasm')
    const config = cwbGpt({
      vocab_size: 300,
      hidden_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 256,
      max_position_embeddings: 64,
    })
    const model = Transformer.initialise(config, 1)
    const [B, Tp, Tr] = [4, 24, 16]
    const measured = await measure(model, B, Tp, Tr)
    model.dispose()
    const planRun = run({ batch_size: B, rollouts: 1, max_prompt_tokens: Tp, max_response_tokens: Tr, micro_batch_size: B })
    expect(ratios(memoryPlan(cwbGptPlanModel(config), planRun, unlimited), measured)).toEqual(within)
  })

  it('is within 30% for Hugging Face decoders: untied, tied with grouped-query attention, full and LoRA', async () => {
    await useBackend('wasm')
    const cases = [
      { tie: false, kvHeads: 4, vocab: 300, hidden: 128, intermediate: 384, B: 4, Tp: 40, Tr: 24, lora: undefined },
      { tie: true, kvHeads: 1, vocab: 6000, hidden: 64, intermediate: 128, B: 2, Tp: 12, Tr: 12, lora: undefined },
      { tie: false, kvHeads: 4, vocab: 300, hidden: 128, intermediate: 384, B: 4, Tp: 40, Tr: 24, lora: [...LORA_MODULES] },
      // Heads of 64 here, as real models' q width is of the order of hidden (Qwen3-0.6B: 16 x 128 over 1024).
      {
        tie: true,
        kvHeads: 2,
        vocab: 2000,
        hidden: 256,
        intermediate: 768,
        B: 2,
        Tp: 12,
        Tr: 12,
        lora: ['q_proj', 'v_proj'],
        headDim: 64,
      },
    ]
    for (const { tie, kvHeads, vocab, hidden, intermediate, B, Tp, Tr, lora, headDim = 16 } of cases) {
      const { dir, remove } = tempDir()
      try {
        const raw = {
          model_type: 'qwen3',
          vocab_size: vocab,
          hidden_size: hidden,
          intermediate_size: intermediate,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          num_key_value_heads: kvHeads,
          head_dim: headDim,
          tie_word_embeddings: tie,
          eos_token_id: 2,
        }
        writeRandomWeights(dir, raw, { seed: 1, scale: 0.1 })
        const lm = loadCausalLM(dir)
        const decoder = lm.model as Decoder
        const settings = lora && { rank: 4, alpha: 8, targetModules: lora, dropout: 0 }
        const model = settings
          ? decoder.attach(
              LoraAdapters.initialise(
                settings,
                loraLayers(settings, 2, (w) => decoder.baseShape(w)),
                1,
              ),
            )
          : decoder.trainFull()
        const measured = await measure(model, B, Tp, Tr)
        lm.dispose()
        const planRun = run({
          batch_size: B,
          rollouts: 1,
          max_prompt_tokens: Tp,
          max_response_tokens: Tr,
          micro_batch_size: B,
          lora: lora && { rank: 4, alpha: 8, target_modules: lora },
        })
        expect(ratios(memoryPlan(planModelFromConfig(raw, 'config.json'), planRun, unlimited), measured)).toEqual(within)
      } finally {
        remove()
      }
    }
  })
})
