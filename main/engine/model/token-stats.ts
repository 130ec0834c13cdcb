// Per-token quantities of a response, from logits [B, T, V] and the tokens that followed [B, T]:
// log-probabilities (for GRPO and KL), entropy (for the entropy reward and actor/entropy), and
// logsumexp(logits) - mean(logits) (for self-certainty).
import * as tf from '@tensorflow/tfjs'

/** log p(target) per position; differentiable (a one-hot product instead of gather, whose gradient wasm lacks). */
export function tokenLogProbs(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const vocab = logits.shape[2]
    const logp = tf.logSoftmax(logits)
    return tf.sum(tf.mul(logp, tf.oneHot(targets.cast('int32'), vocab)), -1) as tf.Tensor2D
  })
}

/** -sum p log p per position. */
export function tokenEntropy(logits: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits)
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) as tf.Tensor2D
  })
}

/** logsumexp(logits) - mean(logits) per position: KL(uniform || p) + log V, the self-certainty of Intuitor. */
export function tokenSelfCertainty(logits: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => tf.sub(tf.logSumExp(logits, -1), tf.mean(logits, -1)) as tf.Tensor2D)
}
