// Gradients of a loss summed over micro-batches: the wasm backend cannot hold a whole GRPO batch's
// activations at once, so each chunk's backward pass runs alone and the gradients are added up.
import * as tf from '@tensorflow/tfjs'

/** Each chunk returns its share of the loss (already weighted so the shares add up to the batch loss). */
export function accumulatedGradients(chunks: (() => tf.Scalar)[]): { loss: number; grads: Record<string, tf.Tensor> } {
  let loss = 0
  let total: Record<string, tf.Tensor> = {}
  for (const chunk of chunks) {
    const { value, grads } = tf.variableGrads(chunk)
    loss += value.dataSync()[0]!
    value.dispose()
    if (Object.keys(total).length === 0) {
      total = grads
      continue
    }
    for (const [name, grad] of Object.entries(grads)) {
      const sum = tf.add(total[name]!, grad)
      total[name]!.dispose()
      grad.dispose()
      total[name] = sum
    }
  }
  return { loss, grads: total }
}
