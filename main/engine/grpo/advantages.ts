// GRPO group advantages (method doc section 6), in float64 as the conformance values are.

const EPSILON = 1e-6

/** A_i = (r_i - mean) / (std + 1e-6) with the unbiased (N-1) std; a group of one has mean 0 and std 1. */
export function groupAdvantages(rewards: readonly number[]): number[] {
  const n = rewards.length
  if (n === 1) return rewards.map((reward) => reward / (1 + EPSILON))
  const mean = rewards.reduce((sum, reward) => sum + reward, 0) / n
  const std = Math.sqrt(rewards.reduce((sum, reward) => sum + (reward - mean) ** 2, 0) / (n - 1))
  return rewards.map((reward) => (reward - mean) / (std + EPSILON))
}
