// AdamW (decoupled weight decay, as torch.optim.AdamW) with global gradient-norm clipping and a
// linear warm-up + half-cosine learning-rate schedule. Its moments are plain tensors so a checkpoint
// can save and restore them exactly.
import * as tf from '@tensorflow/tfjs'

export interface AdamWOptions {
  beta1: number
  beta2: number
  epsilon: number
  weightDecay: number
  /** Clip the global gradient norm to this (0 = no clipping). */
  maxGradNorm: number
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 }

/** Learning rate at `step` (1-based): linear warm-up over `warmupSteps`, then half-cosine from `peak` to 0 at `totalSteps`. */
export function learningRateAt(step: number, peak: number, warmupSteps: number, totalSteps: number): number {
  if (warmupSteps > 0 && step <= warmupSteps) return (peak * step) / warmupSteps
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps))
  return peak * 0.5 * (1 + Math.cos(Math.PI * progress))
}

export class AdamW {
  private step = 0
  private readonly m = new Map<string, tf.Tensor>()
  private readonly v = new Map<string, tf.Tensor>()

  constructor(
    private readonly variables: Map<string, tf.Variable>,
    readonly options: AdamWOptions = ADAMW_DEFAULTS,
  ) {}

  get steps(): number {
    return this.step
  }

  /** Global L2 norm of the gradients. */
  static gradNorm(grads: Record<string, tf.Tensor>): number {
    return tf.tidy(() => Math.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]!))
  }

  /** Clips, then applies one update with learning rate `lr`. Returns the gradient norm before clipping (`norm`, when the caller has it). */
  apply(grads: Record<string, tf.Tensor>, lr: number, norm: number = AdamW.gradNorm(grads)): number {
    const clip = this.options.maxGradNorm > 0 && norm > this.options.maxGradNorm ? this.options.maxGradNorm / (norm + 1e-6) : 1
    this.step += 1
    const { beta1, beta2, epsilon, weightDecay } = this.options
    const correction1 = 1 - beta1 ** this.step
    const correction2 = 1 - beta2 ** this.step
    for (const [name, variable] of this.variables) {
      const grad = grads[variable.name] ?? grads[name]
      if (!grad) continue
      const [m, v] = tf.tidy(() => {
        const g = clip === 1 ? grad : tf.mul(grad, clip)
        const previousM = this.m.get(name) ?? tf.zerosLike(variable)
        const previousV = this.v.get(name) ?? tf.zerosLike(variable)
        return [
          tf.add(tf.mul(previousM, beta1), tf.mul(g, 1 - beta1)),
          tf.add(tf.mul(previousV, beta2), tf.mul(tf.square(g), 1 - beta2)),
        ]
      })
      tf.tidy(() => {
        const decayed = tf.mul(variable, 1 - lr * weightDecay)
        const update = tf.div(tf.div(m!, correction1), tf.add(tf.sqrt(tf.div(v!, correction2)), epsilon))
        variable.assign(tf.sub(decayed, tf.mul(update, lr)))
      })
      this.m.get(name)?.dispose()
      this.v.get(name)?.dispose()
      this.m.set(name, m!)
      this.v.set(name, v!)
    }
    return norm
  }

  /** The moments as named arrays (for optimizer.safetensors) and the step count. */
  state(): { step: number; tensors: Record<string, { shape: number[]; data: Float32Array }> } {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {}
    for (const [name, m] of this.m) tensors[`${name}.exp_avg`] = { shape: m.shape, data: m.dataSync() as Float32Array }
    for (const [name, v] of this.v) tensors[`${name}.exp_avg_sq`] = { shape: v.shape, data: v.dataSync() as Float32Array }
    return { step: this.step, tensors }
  }

  restore(state: { step: number; tensors: Record<string, { shape: number[]; data: Float32Array }> }): void {
    this.dispose()
    this.step = state.step
    for (const [key, tensor] of Object.entries(state.tensors)) {
      const match = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(key)
      if (!match || !this.variables.has(match[1]!)) throw new Error(`optimizer state has an unknown entry ${key}`)
      ;(match[2] === 'exp_avg' ? this.m : this.v).set(match[1]!, tf.tensor(tensor.data, tensor.shape))
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose()
    this.m.clear()
    this.v.clear()
  }
}
