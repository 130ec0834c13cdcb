// Exporting a checkpoint as a plain model folder, without the workbench's extras (optimizer moments, EMA teacher,
// trainer state):
//   cwb-gpt   config.json, model.safetensors, tokenizer.json and tokenizer_config.json, copied
//   full      a Hugging Face qwen2 / qwen3 / llama folder: config.json, generation_config.json, the tokenizer files and
//             the weights (model.safetensors, or the shards and their index), copied
//   LoRA      format 'hf': the base's config.json (torch_dtype float32), generation and tokenizer files, and
//             model.safetensors in float32 with every weight of the base and the adapters merged in
//             (W + alpha / r · B·A), written tensor by tensor; format 'peft': the adapter alone (adapter_config.json
//             and adapter_model.safetensors), as PEFT loads it
// With `weights: 'teacher'`, Co-rewarding-II's EMA teacher takes the model's place (for LoRA: the teacher's adapters).
// The folder is filled in a hidden sibling and renamed into place, so it appears whole or not at all, and only ever
// where nothing (or an empty folder) was.
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { CheckpointWeights } from '../../../preload/contract'
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, adapterBase, isAdapterFolder, readAdapterConfig } from './adapter'
import {
  CONFIG_FILE,
  readJson,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
  WEIGHTS_FILE,
  WEIGHTS_METADATA,
  writeFolderAtomically,
  writeJson,
} from './folder'
import { INDEX_FILE, openWeightFiles, readShardIndex } from './hf-weights'
import { looksLikeHubId } from './hub-cache'
import { readSafetensorsHeader, toFloat32, viewTensor, writeSafetensorsStreamed } from './safetensors'
import type { StreamedTensor } from './safetensors'

export const TEACHER_FILE = 'teacher.safetensors'

/** The model folders export-model writes: a Hugging Face (or cwb-gpt) folder, or a PEFT adapter folder. */
export type ModelExportFormat = 'hf' | 'peft'

/** What a checkpoint folder is, as export sees it. */
export type ExportedKind = 'cwb-gpt' | 'full' | 'lora'

export interface ExportedFile {
  name: string
  bytes: number
}

export interface ModelExportOptions {
  weights?: CheckpointWeights
  format?: ModelExportFormat
  /** A LoRA checkpoint's base folder (or cached hub id) when it moved from where the adapter says. */
  base?: string
}

export interface ModelExport {
  folder: string
  kind: ExportedKind
  files: ExportedFile[]
  /** The base model the adapters were merged into (LoRA, format 'hf'). */
  base?: string
}

/** Files of a Hugging Face folder that travel with its weights (those present). */
export const COMPANION_FILES = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
]

/** What kind of checkpoint `dir` holds; anything else is refused. */
export function exportedKind(dir: string): ExportedKind {
  if (isAdapterFolder(dir)) return 'lora'
  const config = join(dir, CONFIG_FILE)
  if (!existsSync(config))
    throw new Error(
      `${dir} is not a checkpoint: it has neither ${CONFIG_FILE} (a model folder) nor ${ADAPTER_CONFIG_FILE} (a LoRA adapter).`,
    )
  return readJson(config).model_type === 'cwb-gpt' ? 'cwb-gpt' : 'full'
}

function noTeacher(source: string): Error {
  return new Error(
    `${source} has no ${TEACHER_FILE}: only Co-rewarding-II checkpoints keep an EMA teacher; export the model instead.`,
  )
}

/** Reads one tensor of a safetensors file with its own dtype (no conversion). */
function rawTensor(file: string, name: string): StreamedTensor {
  const { tensors, dataStart } = readSafetensorsHeader(file)
  const info = tensors[name]!
  return {
    name,
    dtype: info.dtype,
    shape: info.shape,
    values() {
      const [begin, end] = info.dataOffsets
      const bytes = new Uint8Array(end - begin)
      const fd = openSync(file, 'r')
      try {
        for (let done = 0; done < bytes.length;) {
          const read = readSync(fd, bytes, done, bytes.length - done, dataStart + begin + done)
          if (read === 0) throw new Error(`${file} ends inside tensor "${name}": the file is truncated`)
          done += read
        }
      } finally {
        closeSync(fd)
      }
      return viewTensor(
        info.dtype,
        bytes,
        info.shape.reduce((a, b) => a * b, 1),
      ).data
    },
  }
}

/** Rewrites a tensor file tensor by tensor with Transformers' metadata (the workbench's extra files lack it). */
function rewriteWithMetadata(from: string, to: string): void {
  const names = Object.keys(readSafetensorsHeader(from).tensors).sort()
  writeSafetensorsStreamed(
    to,
    names.map((name) => rawTensor(from, name)),
    WEIGHTS_METADATA,
  )
}

/** A LoRA adapter file's tensors by module: A [r, in] and B [out, r] as float32. */
function adapterModules(file: string): Map<string, { a?: Float32Array; b?: Float32Array; aShape?: number[]; bShape?: number[] }> {
  const { tensors } = readSafetensorsHeader(file)
  const modules = new Map<string, { a?: Float32Array; b?: Float32Array; aShape?: number[]; bShape?: number[] }>()
  for (const name of Object.keys(tensors)) {
    // PEFT may save with the adapter's name (".default") or without it.
    const match = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/.exec(name)
    if (!match) throw new Error(`${file}: tensor "${name}" is not a LoRA A or B weight in PEFT's naming`)
    const [, module = '', which] = match
    const entry = modules.get(module) ?? {}
    const tensor = rawTensor(file, name)
    const values = toFloat32({ dtype: tensor.dtype, shape: tensor.shape, data: tensor.values() } as Parameters<
      typeof toFloat32
    >[0])
    if (which === 'A') Object.assign(entry, { a: values, aShape: tensor.shape })
    else Object.assign(entry, { b: values, bShape: tensor.shape })
    modules.set(module, entry)
  }
  return modules
}

/** W [out, in] += scale · B [out, r] · A [r, in], in place, a row at a time in float64. */
function mergeInto(
  weight: Float32Array,
  a: Float32Array,
  b: Float32Array,
  out: number,
  inputs: number,
  rank: number,
  scale: number,
): void {
  const row = new Float64Array(inputs)
  for (let o = 0; o < out; o++) {
    row.fill(0)
    for (let k = 0; k < rank; k++) {
      const c = b[o * rank + k]!
      if (c === 0) continue
      const offset = k * inputs
      for (let i = 0; i < inputs; i++) row[i]! += c * a[offset + i]!
    }
    const base = o * inputs
    for (let i = 0; i < inputs; i++) weight[base + i] = weight[base + i]! + scale * row[i]!
  }
}

function copyCompanions(from: string, to: string): void {
  for (const file of COMPANION_FILES) if (existsSync(join(from, file))) copyFileSync(join(from, file), join(to, file))
}

/** A float32 folder of the model in `baseDir`: its config.json (torch_dtype float32) and companion files, weights apart. */
export function writeFloat32Companions(baseDir: string, to: string): void {
  writeJson(join(to, CONFIG_FILE), { ...readJson(join(baseDir, CONFIG_FILE)), torch_dtype: 'float32' })
  copyCompanions(baseDir, to)
}

/** The merged Hugging Face folder of a LoRA checkpoint: the base's every weight in float32, the adapters merged in. */
function fillMerged(source: string, temporary: string, adapterFile: string, baseDir: string): void {
  const { settings } = readAdapterConfig(source)
  const scale = settings.alpha / settings.rank
  const modules = adapterModules(adapterFile)
  const files = openWeightFiles(baseDir)
  for (const [module, { a, b, aShape, bShape }] of modules) {
    const weight = `${module}.weight`
    const shape = files.shapes.get(weight)?.shape
    if (!a || !b) throw new Error(`${adapterFile}: ${module} has lora_${a ? 'B' : 'A'} but not lora_${a ? 'A' : 'B'}`)
    if (!shape || shape.length !== 2) throw new Error(`${adapterFile}: ${module} adapts no linear weight of the base ${baseDir}`)
    const [out, inputs] = shape as [number, number]
    const expected = `A [${settings.rank}, ${inputs}] and B [${out}, ${settings.rank}]`
    if (aShape!.join() !== `${settings.rank},${inputs}` || bShape!.join() !== `${out},${settings.rank}`)
      throw new Error(
        `${adapterFile}: ${module} has A [${aShape!.join(', ')}] and B [${bShape!.join(', ')}]; rank ${settings.rank} over ${weight} [${out}, ${inputs}] needs ${expected}`,
      )
  }
  writeFloat32Companions(baseDir, temporary)
  const names = [...files.shapes.keys()].sort()
  writeSafetensorsStreamed(
    join(temporary, WEIGHTS_FILE),
    names.map((name) => ({
      name,
      dtype: 'F32' as const,
      shape: files.shapes.get(name)!.shape,
      values() {
        const weight = files.read(name)
        const adapter = name.endsWith('.weight') ? modules.get(name.slice(0, -'.weight'.length)) : undefined
        if (adapter) {
          const [out, inputs] = files.shapes.get(name)!.shape as [number, number]
          mergeInto(weight, adapter.a!, adapter.b!, out, inputs, settings.rank, scale)
        }
        return weight
      },
    })),
    WEIGHTS_METADATA,
  )
}

/** base_model_name_or_path of an exported adapter: the --base given (as a folder, or the hub id), else as it was. */
function adapterConfigFor(source: string, base: string | undefined): Record<string, unknown> {
  const config = readJson(join(source, ADAPTER_CONFIG_FILE))
  if (base === undefined) return config
  return { ...config, base_model_name_or_path: existsSync(base) || !looksLikeHubId(base) ? resolve(base) : base }
}

/**
 * Writes the checkpoint in `source` as a plain folder at `out` (which must not exist, or be an empty folder): see the
 * file's header for what each kind of checkpoint becomes.
 */
export function exportModelFolder(source: string, out: string, options: ModelExportOptions = {}): ModelExport {
  const dir = resolve(source)
  const target = resolve(out)
  const weights = options.weights ?? 'model'
  const format = options.format ?? 'hf'
  if (existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length > 0)) {
    throw new Error(`Cannot export to ${target}: it exists and is not an empty folder; choose a new folder.`)
  }
  const kind = exportedKind(dir)
  if (format === 'peft' && kind !== 'lora') {
    throw new Error(
      `${dir} is not a LoRA checkpoint (it has no ${ADAPTER_CONFIG_FILE}): --format peft writes a LoRA adapter alone; export this ${kind === 'full' ? 'fully fine-tuned' : kind} model with --format hf.`,
    )
  }
  if (weights === 'teacher' && !existsSync(join(dir, TEACHER_FILE))) throw noTeacher(dir)
  let base: string | undefined
  let fill: (temporary: string) => void
  if (kind === 'lora' && format === 'peft') {
    // The base is checked (found, and the one trained on) only when a new one is named.
    if (options.base !== undefined) adapterBase(dir, options.base)
    fill = (temporary) => {
      writeJson(join(temporary, ADAPTER_CONFIG_FILE), adapterConfigFor(dir, options.base))
      const from = join(dir, weights === 'teacher' ? TEACHER_FILE : ADAPTER_WEIGHTS_FILE)
      if (weights === 'teacher') rewriteWithMetadata(from, join(temporary, ADAPTER_WEIGHTS_FILE))
      else copyFileSync(from, join(temporary, ADAPTER_WEIGHTS_FILE))
    }
  } else if (kind === 'lora') {
    base = adapterBase(dir, options.base)
    const adapterFile = join(dir, weights === 'teacher' ? TEACHER_FILE : ADAPTER_WEIGHTS_FILE)
    if (!existsSync(adapterFile)) throw new Error(`${adapterFile} is missing: an adapter folder holds ${ADAPTER_WEIGHTS_FILE}`)
    fill = (temporary) => fillMerged(dir, temporary, adapterFile, base!)
  } else if (kind === 'full') {
    const sharded = existsSync(join(dir, INDEX_FILE))
    if (!sharded && !existsSync(join(dir, WEIGHTS_FILE)))
      throw new Error(`${dir} has neither ${WEIGHTS_FILE} nor ${INDEX_FILE}: no weights to export`)
    fill = (temporary) => {
      const config = readJson(join(dir, CONFIG_FILE))
      writeJson(join(temporary, CONFIG_FILE), weights === 'teacher' ? { ...config, torch_dtype: 'float32' } : config)
      copyCompanions(dir, temporary)
      if (weights === 'teacher') rewriteWithMetadata(join(dir, TEACHER_FILE), join(temporary, WEIGHTS_FILE))
      else if (sharded) {
        copyFileSync(join(dir, INDEX_FILE), join(temporary, INDEX_FILE))
        for (const shard of new Set(readShardIndex(dir).values())) copyFileSync(shard, join(temporary, shard.split('/').at(-1)!))
      } else copyFileSync(join(dir, WEIGHTS_FILE), join(temporary, WEIGHTS_FILE))
    }
  } else {
    for (const file of [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE]) {
      if (!existsSync(join(dir, file)))
        throw new Error(
          `${join(dir, file)} is missing: a checkpoint folder holds ${CONFIG_FILE}, ${WEIGHTS_FILE} and ${TOKENIZER_FILE}.`,
        )
    }
    fill = (temporary) => {
      for (const file of [CONFIG_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE])
        if (existsSync(join(dir, file))) copyFileSync(join(dir, file), join(temporary, file))
      if (weights === 'teacher') rewriteWithMetadata(join(dir, TEACHER_FILE), join(temporary, WEIGHTS_FILE))
      else copyFileSync(join(dir, WEIGHTS_FILE), join(temporary, WEIGHTS_FILE))
    }
  }
  try {
    // No markers: only a missing or empty folder is written (checked above; checked again there).
    writeFolderAtomically(target, fill, [])
  } catch (error) {
    throw new Error(`Cannot export ${dir} to ${target}: ${(error as Error).message}`, { cause: error })
  }
  const files = readdirSync(target)
    .sort()
    .map((name) => ({ name, bytes: statSync(join(target, name)).size }))
  return { folder: target, kind, files, ...(base !== undefined ? { base } : {}) }
}

/** Copies `source`'s model (or, with `weights: 'teacher'`, its EMA teacher as the model) to the new folder `out`. */
export function exportHfFolder(source: string, out: string, weights: CheckpointWeights = 'model'): ExportedFile[] {
  return exportModelFolder(source, out, { weights }).files
}
