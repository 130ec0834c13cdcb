// A small seeded PRNG (splitmix32) with a state that can be saved and restored, so that sampling,
// initialisation and data order are reproducible and a resumed run continues the same stream.

export class Random {
  constructor(private state: number) {
    this.state = state >>> 0
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    z = (z ^ (z >>> 16)) >>> 0
    return z / 4294967296
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Cannot pick from an empty list.')
    return items[this.int(items.length)]!
  }

  /** An index drawn with probability proportional to its weight; weights must not all be zero. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((sum, weight) => sum + weight, 0)
    let left = this.next() * total
    for (const [index, weight] of weights.entries()) {
      if (weight <= 0) continue
      left -= weight
      if (left < 0) return index
    }
    return weights.findLastIndex((weight) => weight > 0)
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }

  /** An independent stream derived from this one (e.g. one per sample). */
  fork(salt: number): Random {
    return new Random((this.state ^ Math.imul(salt + 1, 0x27d4eb2d)) >>> 0)
  }

  getState(): number {
    return this.state
  }

  setState(state: number): void {
    this.state = state >>> 0
  }
}
