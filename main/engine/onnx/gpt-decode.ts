// The fixed-capacity decode graph of cwb-gpt (fixed-cache.ts says what it takes and returns): attention scores q
// over the cache and over the new key apart (fixedCacheAttention), so nothing is concatenated but the scores.
import type { ModelConfig } from '../model/config'
import { encodeModel, GraphBuilder, gptNodes, graphWeights } from './export'
import { fixedCacheAttention, fixedCacheGraphIo } from './fixed-cache'

export function exportGptDecodeOnnx(config: ModelConfig): Uint8Array {
  const g = new GraphBuilder(true)
  const empty = new Float32Array(0)
  const shapes = graphWeights(config)
  const attend = fixedCacheAttention(g)
  gptNodes(g, config, (name) => g.weight(name, shapes[name]!.dims, empty), { attend })
  const heads = config.num_attention_heads
  const shape = { layers: config.num_hidden_layers, heads, headDim: config.hidden_size / heads }
  const io = fixedCacheGraphIo(shape, config.vocab_size)
  return encodeModel({
    name: `${config.model_type}-decode`,
    node: g.nodes,
    initializer: g.initializers,
    input: [...io.input, ...g.weightInputs],
    output: io.output,
  })
}
