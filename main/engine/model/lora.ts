// LoRA adapters with PEFT's semantics and layout: a targeted linear layer W [out, in] computes
// y = x W^T + (alpha / rank) * (dropout(x) A^T) B^T, with A [rank, in] drawn as PEFT draws it (kaiming-uniform with
// a = sqrt(5), i.e. uniform in +-1/sqrt(in)) and B [out, rank] starting at zero, so training starts at the base model.
// Tensor names are PEFT's: base_model.model.<module>.lora_A.weight / .lora_B.weight, e.g.
// base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight. The base stays frozen; only A and B train.
import * as tf from '@tensorflow/tfjs'
import { Random } from '../../random'
import { LORA_MODULES, MODULE_PATH } from './lora-modules'
import type { LoraModule } from './lora-modules'

export { LORA_MODULES }

export interface LoraSettings {
  rank: number
  alpha: number
  targetModules: string[]
  dropout: number
}

/** One adapted layer: its module path (model.layers.N.self_attn.q_proj) and shapes. */
export interface LoraLayer {
  module: string
  inFeatures: number
  outFeatures: number
}

export const PEFT_PREFIX = 'base_model.model.'
export const loraNames = (module: string): { a: string; b: string } => ({
  a: `${PEFT_PREFIX}${module}.lora_A.weight`,
  b: `${PEFT_PREFIX}${module}.lora_B.weight`,
})

/** The target modules, checked: each one of LORA_MODULES (PEFT's "all-linear" means all of them). */
export function targetModules(targets: string[], source = 'lora.target_modules'): LoraModule[] {
  if (targets.length === 1 && targets[0] === 'all-linear') return [...LORA_MODULES]
  if (targets.length === 0) throw new Error(`${source}: empty; name at least one of ${LORA_MODULES.join(', ')}`)
  for (const target of targets) {
    if (!(LORA_MODULES as readonly string[]).includes(target))
      throw new Error(
        `${source}: "${target}" is not a linear layer of these models; choose from ${LORA_MODULES.join(', ')} (or "all-linear")`,
      )
  }
  return targets as LoraModule[]
}

/** The adapted layers of a decoder with `layers` blocks, given each projection's [out, in] shape. */
export function loraLayers(settings: LoraSettings, layers: number, shapeOf: (weight: string) => number[]): LoraLayer[] {
  const out: LoraLayer[] = []
  for (let layer = 0; layer < layers; layer++) {
    for (const target of targetModules(settings.targetModules)) {
      const module = `model.layers.${layer}.${MODULE_PATH[target]}`
      const [outFeatures, inFeatures] = shapeOf(`${module}.weight`) as [number, number]
      out.push({ module, inFeatures, outFeatures })
    }
  }
  return out
}

/** The adapters of a model: A and B per adapted module, as variables (trainable or frozen). */
export class LoraAdapters {
  readonly scale: number

  private constructor(
    readonly settings: LoraSettings,
    readonly layers: LoraLayer[],
    /** PEFT-named A [r, in] and B [out, r]. */
    readonly weights: Map<string, tf.Variable>,
  ) {
    this.scale = settings.alpha / settings.rank
  }

  /** Fresh adapters, seeded: A as PEFT initialises it, B zero. */
  static initialise(settings: LoraSettings, layers: LoraLayer[], seed: number, trainable = true): LoraAdapters {
    const random = new Random(seed)
    const arrays: Record<string, Float32Array> = {}
    for (const layer of layers) {
      const { a, b } = loraNames(layer.module)
      const bound = 1 / Math.sqrt(layer.inFeatures)
      const values = new Float32Array(settings.rank * layer.inFeatures)
      for (let i = 0; i < values.length; i++) values[i] = (2 * random.next() - 1) * bound
      arrays[a] = values
      arrays[b] = new Float32Array(layer.outFeatures * settings.rank)
    }
    return LoraAdapters.fromArrays(settings, layers, arrays, trainable)
  }

  /** Adapters from PEFT-named arrays (an adapter_model.safetensors); every adapted module must be present. */
  static fromArrays(
    settings: LoraSettings,
    layers: LoraLayer[],
    arrays: Record<string, Float32Array>,
    trainable = true,
    source = 'the adapter',
  ): LoraAdapters {
    const weights = new Map<string, tf.Variable>()
    for (const [name, shape] of Object.entries(loraShapes(settings, layers))) {
      const values = arrays[name]
      if (!values) {
        tf.dispose([...weights.values()])
        throw new Error(`${source} has no tensor ${name} (rank ${settings.rank}, targets ${settings.targetModules.join(', ')})`)
      }
      if (values.length !== shape[0]! * shape[1]!) {
        tf.dispose([...weights.values()])
        throw new Error(`${source}: ${name} has ${values.length} values, expected shape [${shape.join(', ')}]`)
      }
      weights.set(name, tf.variable(tf.tensor(values, shape, 'float32'), trainable, uniqueName(name)))
    }
    return new LoraAdapters(settings, layers, weights)
  }

  /** A copy with its own variables (the KL reference, or Co-rewarding-II's EMA teacher). */
  clone(trainable = false): LoraAdapters {
    const weights = new Map<string, tf.Variable>()
    for (const [name, variable] of this.weights) weights.set(name, tf.variable(variable.clone(), trainable, uniqueName(name)))
    return new LoraAdapters(this.settings, this.layers, weights)
  }

  has(module: string): boolean {
    return this.weights.has(loraNames(module).a)
  }

  /** The adapter's contribution to `module`'s output for inputs x [..., in]: scale * (dropout(x) A^T) B^T. */
  delta(module: string, x: tf.Tensor, dropoutSeed?: number): tf.Tensor {
    const { a, b } = loraNames(module)
    const A = this.weights.get(a)! as tf.Tensor2D
    const B = this.weights.get(b)! as tf.Tensor2D
    const inFeatures = A.shape[1]
    const outShape = [...x.shape.slice(0, -1), B.shape[0]]
    let input = x.reshape([-1, inFeatures]) as tf.Tensor2D
    if (dropoutSeed !== undefined && this.settings.dropout > 0)
      input = tf.dropout(input, this.settings.dropout, undefined, dropoutSeed) as tf.Tensor2D
    const low = tf.matMul(input, A, false, true)
    return tf.mul(tf.matMul(low, B, false, true), this.scale).reshape(outShape)
  }

  /** The merged update of `module` in [in, out] layout (the transposed weight's): scale * A^T B^T. */
  mergedDelta(module: string): tf.Tensor2D {
    const { a, b } = loraNames(module)
    return tf.tidy(() =>
      tf.mul(tf.matMul(this.weights.get(a)! as tf.Tensor2D, this.weights.get(b)! as tf.Tensor2D, true, true), this.scale),
    ) as tf.Tensor2D
  }

  toArrays(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {}
    for (const [name, variable] of this.weights) out[name] = variable.dataSync() as Float32Array
    return out
  }

  shapes(): Record<string, number[]> {
    return loraShapes(this.settings, this.layers)
  }

  parameters(): number {
    return [...this.weights.values()].reduce((sum, v) => sum + v.size, 0)
  }

  dispose(): void {
    tf.dispose([...this.weights.values()])
  }
}

export function loraShapes(settings: LoraSettings, layers: LoraLayer[]): Record<string, number[]> {
  const shapes: Record<string, number[]> = {}
  for (const layer of layers) {
    const { a, b } = loraNames(layer.module)
    shapes[a] = [settings.rank, layer.inFeatures]
    shapes[b] = [layer.outFeatures, settings.rank]
  }
  return shapes
}

const uniqueName = (name: string): string => `${name}#${Math.random().toString(36).slice(2)}`
