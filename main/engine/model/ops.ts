// Building blocks with gradients that suit tfjs's wasm backend: matMul's built-in gradient uses transposed
// operands, which run about 10x slower there, and the gradient of gather needs a kernel wasm lacks.
import * as tf from '@tensorflow/tfjs'

// tf.customGrad types its function over a rest parameter; ours take named tensors and `save`.
type GradientFunction = Parameters<typeof tf.customGrad>[0]

/** x [..., in] @ w [in, out] (+ b), with a gradient that transposes explicitly before plain matMuls. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const [inSize, outSize] = w.shape
  const leading = x.shape.slice(0, -1)
  const project = tf.customGrad(((x2: tf.Tensor, weight: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x2, weight])
    return {
      value: tf.matMul(x2 as tf.Tensor2D, weight as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedW] = saved as [tf.Tensor2D, tf.Tensor2D]
        // Each transpose is freed as soon as its product exists: the backward pass runs in one tidy, so without these
        // every projection's transposed copy would stay alive until the whole backward pass ends.
        return [
          tf.tidy(() => tf.matMul(dy as tf.Tensor2D, tf.transpose(savedW))),
          tf.tidy(() => tf.matMul(tf.transpose(savedX), dy as tf.Tensor2D)),
        ]
      },
    }
  }) as GradientFunction)
  const flat = project(x.reshape([-1, inSize]), w) as tf.Tensor2D
  const out = b ? tf.add(flat, b) : flat
  return out.reshape([...leading, outSize])
}

/**
 * x [..., in] @ w [in, out] (+ b) for a weight that does not train (a LoRA base): the gradient reaches x only, so the
 * weight's own gradient (a full [in, out] product that would be thrown away) is never computed.
 */
export function frozenLinear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const [inSize, outSize] = w.shape
  const leading = x.shape.slice(0, -1)
  const project = tf.customGrad(((x2: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x2])
    return {
      value: tf.matMul(x2 as tf.Tensor2D, w),
      gradFunc: (dy: tf.Tensor) => [tf.tidy(() => tf.matMul(dy as tf.Tensor2D, tf.transpose(w)))],
    }
  }) as GradientFunction)
  const flat = project(x.reshape([-1, inSize])) as tf.Tensor2D
  const out = b ? tf.add(flat, b) : flat
  return out.reshape([...leading, outSize])
}

/** Rows of `table` for integer `ids`; its gradient scatters with scatterND (which sums repeated ids). */
export function embed(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [rows, width] = table.shape
  const flatIds = ids.reshape([-1]) as tf.Tensor1D
  const lookup = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([flatIds])
    return {
      value: tf.gather(t, flatIds),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.scatterND(saved[0]!.reshape([-1, 1]), dy, [rows, width])],
    }
  }) as GradientFunction)
  return (lookup(table) as tf.Tensor).reshape([...ids.shape, width])
}

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true)
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))), gamma), beta)
}

/** GELU, tanh approximation (as GPT-2). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)))
}
