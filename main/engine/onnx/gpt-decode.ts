// The fixed-capacity decode graph of cwb-gpt (fixed-cache.ts says what it takes and returns): attention scores q
// over the cache and over the new key apart (fixedCacheAttention), so nothing is concatenated but the scores.
import type { ModelConfig } from '../model/config'
import { encodeModel, GraphBuilder, gptNodes, graphWeights, onnx, valueInfo } from './export'
import { fixedCacheAttention } from './fixed-cache'

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

export function exportGptDecodeOnnx(config: ModelConfig): Uint8Array {
  const g = new GraphBuilder(true)
  const empty = new Float32Array(0)
  const shapes = graphWeights(config)
  const attend = fixedCacheAttention(g)
  gptNodes(g, config, (name) => g.weight(name, shapes[name]!.dims, empty), { attend })
  const heads = config.num_attention_heads
  const headSize = config.hidden_size / heads
  const layers = Array.from({ length: config.num_hidden_layers }, (_, i) => i)
  return encodeModel({
    name: `${config.model_type}-decode`,
    node: g.nodes,
    initializer: g.initializers,
    input: [
      valueInfo('input_ids', INT64, ['batch', 1]),
      valueInfo('position_ids', INT64, ['batch', 1]),
      valueInfo('cache_bias', FLOAT, ['batch', 1, 1, 'capacity']),
      ...layers.flatMap((i) => [
        valueInfo(`cache.${i}.key`, FLOAT, ['batch', heads, headSize, 'capacity']),
        valueInfo(`cache.${i}.value`, FLOAT, ['batch', heads, 'capacity', headSize]),
      ]),
      ...g.weightInputs,
    ],
    output: [
      valueInfo('logits', FLOAT, ['batch', 1, config.vocab_size]),
      ...layers.flatMap((i) => [
        valueInfo(`new.${i}.key`, FLOAT, ['batch', heads, 1, headSize]),
        valueInfo(`new.${i}.value`, FLOAT, ['batch', heads, 1, headSize]),
      ]),
    ],
  })
}
