// Rotary position embeddings as Hugging Face computes them: inverse frequencies base^(-2i/dim), optionally rescaled
// (`linear`, `llama3`), applied in the rotate-half layout (the first half of each head pairs with the second).
import * as tf from '@tensorflow/tfjs'

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3'
      factor: number
      lowFreqFactor: number
      highFreqFactor: number
      originalMaxPositionEmbeddings: number
    }

/** The `dim / 2` inverse frequencies, as transformers' `_compute_default_rope_parameters` and its scaled variants. */
export function inverseFrequencies(dim: number, theta: number, scaling?: RopeScaling): Float64Array {
  const base = Float64Array.from({ length: dim / 2 }, (_, i) => 1 / theta ** ((2 * i) / dim))
  if (!scaling) return base
  if (scaling.type === 'linear') return base.map((f) => f / scaling.factor)
  // transformers' _compute_llama3_parameters: long wavelengths are slowed by `factor`, short ones kept, the band
  // between them blended smoothly.
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: context } = scaling
  const lowFreqWavelen = context / lowFreqFactor
  const highFreqWavelen = context / highFreqFactor
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f
    if (wavelen < highFreqWavelen) return f
    if (wavelen > lowFreqWavelen) return f / factor
    const smooth = (context / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
    return (1 - smooth) * (f / factor) + smooth * f
  })
}

/** cos and sin [B, 1, T, dim/2] of `positions` [B, T] times the inverse frequencies. */
export function rotaryAngles(positions: tf.Tensor2D, inverse: Float64Array): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const angles = tf.mul(positions.cast('float32').expandDims(-1), tf.tensor1d(Float32Array.from(inverse))) // [B, T, half]
  return { cos: tf.cos(angles).expandDims(1) as tf.Tensor4D, sin: tf.sin(angles).expandDims(1) as tf.Tensor4D }
}

/** Rotates q or k [B, H, T, dim] (rotate-half: x * cos + rotate_half(x) * sin). */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor4D, tf.Tensor4D]
  return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], -1) as tf.Tensor4D
}
