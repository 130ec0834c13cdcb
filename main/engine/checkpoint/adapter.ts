// LoRA adapter folders in PEFT's layout: adapter_config.json (peft_type "LORA", r, lora_alpha, lora_dropout,
// target_modules, base_model_name_or_path) and adapter_model.safetensors. The workbench's own adapter checkpoints add
// trainer_state.json, whose `base` records the base model's fingerprint (baseFingerprint: config.json, each weight
// file's size, tensor header and sampled bytes), so a changed base is refused and a moved one accepted.
import { createHash } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { LoraSettings } from '../model/lora'
import { targetModules } from '../model/lora'
import { readJson, TRAINER_STATE_FILE } from './folder'
import { INDEX_FILE, readShardIndex, SINGLE_FILE } from './hf-weights'
import { looksLikeHubId, resolveHubModel } from './hub-cache'
import { readSafetensorsHeader } from './safetensors'

export const ADAPTER_CONFIG_FILE = 'adapter_config.json'
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors'

export interface AdapterConfig {
  settings: LoraSettings
  /** base_model_name_or_path as written (a folder or a hub id), if any. */
  base: string | undefined
}

/** Whether `dir` is a LoRA adapter folder (adapter_config.json and no full model of its own). */
export function isAdapterFolder(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG_FILE)) && !existsSync(join(dir, 'config.json'))
}

/** adapter_config.json read and checked: only what this engine applies exactly (LoRA, no bias, no rsLoRA, no DoRA). */
export function readAdapterConfig(dir: string): AdapterConfig {
  const file = join(dir, ADAPTER_CONFIG_FILE)
  const raw = readJson(file)
  const fail = (field: string, problem: string): never => {
    throw new Error(`${file}: ${field}: ${problem}`)
  }
  if (raw.peft_type !== 'LORA') fail('peft_type', `${JSON.stringify(raw.peft_type)}; only "LORA" adapters are supported`)
  if (raw.task_type !== undefined && raw.task_type !== 'CAUSAL_LM')
    fail('task_type', `${JSON.stringify(raw.task_type)}; only "CAUSAL_LM" adapters are supported`)
  const positive = (field: string): number => {
    const value = raw[field]
    if (typeof value !== 'number' || !(value > 0)) fail(field, `${JSON.stringify(value)} is not a positive number`)
    return value as number
  }
  const rank = positive('r')
  if (!Number.isSafeInteger(rank)) fail('r', `${rank} is not a whole number`)
  for (const [field, plain] of [
    ['use_rslora', false],
    ['use_dora', false],
    ['fan_in_fan_out', false],
  ] as const) {
    if (raw[field] !== undefined && raw[field] !== null && raw[field] !== plain)
      fail(field, `${JSON.stringify(raw[field])} is not supported; this engine applies plain LoRA (alpha / r scaling)`)
  }
  if (raw.bias !== undefined && raw.bias !== 'none') fail('bias', `${JSON.stringify(raw.bias)}; only "none" is supported`)
  if (raw.rank_pattern && Object.keys(raw.rank_pattern as object).length > 0)
    fail('rank_pattern', 'per-module ranks are not supported')
  if (raw.alpha_pattern && Object.keys(raw.alpha_pattern as object).length > 0)
    fail('alpha_pattern', 'per-module alphas are not supported')
  if (raw.layers_to_transform !== undefined && raw.layers_to_transform !== null)
    fail('layers_to_transform', 'adapters on some layers only are not supported')
  const dropout = raw.lora_dropout ?? 0
  if (typeof dropout !== 'number' || dropout < 0 || dropout >= 1)
    fail('lora_dropout', `${JSON.stringify(dropout)} is not in [0, 1)`)
  const targets = typeof raw.target_modules === 'string' ? [raw.target_modules] : raw.target_modules
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string'))
    fail('target_modules', 'expected a list of module names')
  // PEFT also accepts full module paths ending in the name; reduce them to the name.
  const names = [...new Set((targets as string[]).map((t) => t.split('.').at(-1)!))]
  targetModules(names, `${file}: target_modules`)
  const base =
    typeof raw.base_model_name_or_path === 'string' && raw.base_model_name_or_path !== ''
      ? raw.base_model_name_or_path
      : undefined
  return { settings: { rank, alpha: positive('lora_alpha'), targetModules: names, dropout: dropout as number }, base }
}

/** adapter_config.json as PEFT writes it. */
export function adapterConfigJson(settings: LoraSettings, base: string): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: base,
    r: settings.rank,
    lora_alpha: settings.alpha,
    lora_dropout: settings.dropout,
    target_modules: settings.targetModules,
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: null,
    layers_to_transform: null,
    revision: null,
  }
}

/** The weight files of a model folder: the shards of its index, or model.safetensors. */
function weightFilesOf(dir: string): string[] {
  if (existsSync(join(dir, INDEX_FILE))) return [...new Set(readShardIndex(dir).values())].sort()
  return [join(dir, SINGLE_FILE)]
}

const SAMPLES = 16
const SAMPLE_BYTES = 4096

/** SAMPLES blocks of SAMPLE_BYTES spread evenly over the file (all of it when smaller). */
function sampledBytes(file: string, size: number): Buffer {
  const fd = openSync(file, 'r')
  try {
    const chunks: Buffer[] = []
    const span = Math.max(0, size - SAMPLE_BYTES)
    const offsets =
      size <= SAMPLES * SAMPLE_BYTES ? [0] : Array.from({ length: SAMPLES }, (_, i) => Math.floor((span * i) / (SAMPLES - 1)))
    for (const offset of offsets) {
      const chunk = Buffer.alloc(Math.min(size <= SAMPLES * SAMPLE_BYTES ? size : SAMPLE_BYTES, size - offset))
      readSync(fd, chunk, 0, chunk.length, offset)
      chunks.push(chunk)
    }
    return Buffer.concat(chunks)
  } finally {
    closeSync(fd)
  }
}

/**
 * A fingerprint of the model in `dir`, cheap even for a 16 GB base: sha256 of config.json and, per weight file, its
 * name, size, tensor header and 16 blocks of 4 KiB spread over it (so retrained weights of the same shapes differ).
 */
export function baseFingerprint(dir: string): string {
  const hash = createHash('sha256')
  hash.update(readFileSync(join(dir, 'config.json')))
  for (const file of weightFilesOf(dir)) {
    if (!existsSync(file)) throw new Error(`${file} is missing: the base model in ${dir} is incomplete`)
    const header = readSafetensorsHeader(file)
    const tensors = Object.entries(header.tensors)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, t]) => [name, t.dtype, t.shape, t.dataOffsets])
    const size = statSync(file).size
    hash.update(`${file.split('/').at(-1)}\0${size}\0${JSON.stringify(tensors)}\0`)
    hash.update(sampledBytes(file, size))
  }
  return `sha256:${hash.digest('hex')}`
}

/** The folder a base is found in: a folder path, or a hub id in the local cache. */
export function resolveBaseFolder(spec: string): string {
  if (existsSync(spec)) return resolve(spec)
  if (looksLikeHubId(spec)) return resolveHubModel(spec)
  throw new Error(`no folder ${spec}`)
}

/** What an adapter checkpoint's trainer_state.json records of its base. */
export interface BaseRecord {
  path: string
  fingerprint: string
}

function recordedBase(dir: string): BaseRecord | undefined {
  const file = join(dir, TRAINER_STATE_FILE)
  if (!existsSync(file)) return undefined
  const base = readJson(file).base as Partial<BaseRecord> | undefined
  return base && typeof base.fingerprint === 'string' && typeof base.path === 'string'
    ? { path: base.path, fingerprint: base.fingerprint }
    : undefined
}

/**
 * The base model folder of the adapter in `dir`: `explicit` (--base) when given, else its base_model_name_or_path.
 * When the adapter was trained here, the base must have the fingerprint it was trained on: a changed base is refused,
 * a moved one (given with --base) accepted.
 */
export function adapterBase(dir: string, explicit?: string): string {
  const { base } = readAdapterConfig(dir)
  const recorded = recordedBase(dir)
  const spec = explicit ?? base ?? recorded?.path
  if (spec === undefined)
    throw new Error(`${join(dir, ADAPTER_CONFIG_FILE)} names no base_model_name_or_path: give the base model with --base DIR`)
  let folder: string
  try {
    folder = resolveBaseFolder(spec)
  } catch (error) {
    throw new Error(
      `the base model of the adapter ${dir} is not found (${explicit ? '--base' : 'base_model_name_or_path'} ${spec}: ${(error as Error).message}); ` +
        'if it moved, give its folder with --base DIR',
      { cause: error },
    )
  }
  if (!existsSync(join(folder, 'config.json')))
    throw new Error(`${folder} has no config.json: it is not the base model of ${dir}`)
  if (recorded) {
    const now = baseFingerprint(folder)
    if (now !== recorded.fingerprint) {
      throw new Error(
        `the base model at ${folder} is not the one the adapter ${dir} was trained on (its config or weights changed: fingerprint ` +
          `${now.slice(0, 19)}..., trained on ${recorded.fingerprint.slice(0, 19)}...). Give the original base with --base DIR.`,
      )
    }
  }
  return folder
}
