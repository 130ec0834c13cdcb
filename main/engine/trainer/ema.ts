// Co-rewarding-II's teacher (co-rewarding.md section 8): an exponential moving average of the policy,
// updated after the policy's rollouts of step k with the policy weights after update k-1.
import * as tf from '@tensorflow/tfjs'

/** w(k) = a_end + 0.5 (a_start - a_end)(1 + cos(pi t / T)), t = clamp(k - 1, 0, T). */
export function emaRate(step: number, totalSteps: number, alphaStart: number, alphaEnd: number): number {
  const t = Math.min(Math.max(step - 1, 0), totalSteps)
  return alphaEnd + 0.5 * (alphaStart - alphaEnd) * (1 + Math.cos((Math.PI * t) / Math.max(totalSteps, 1)))
}

/** teacher <- (1 - w) teacher + w policy, weight by weight, in full precision. */
export function updateTeacher(
  teacher: { weights: Map<string, tf.Variable> },
  policy: { weights: Map<string, tf.Variable> },
  rate: number,
): void {
  for (const [name, variable] of teacher.weights) {
    const source = policy.weights.get(name)
    if (!source) throw new Error(`the teacher has weight ${name} but the policy does not`)
    tf.tidy(() => variable.assign(tf.add(tf.mul(variable, 1 - rate), tf.mul(source, rate))))
  }
}
