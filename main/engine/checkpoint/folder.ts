// A checkpoint is a folder in Hugging Face layout (config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json) plus the workbench's trainer_state.json and extra tensor files (optimizer, teacher).
// It is written whole into a hidden sibling and renamed into place, so readers never see half of one.
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { diskFullReason, isDiskFull } from '../../disk-full'
import { readSafetensors, writeSafetensors } from './safetensors'
import type { TensorData } from './safetensors'
import { fileErrorWords } from '../../fs-errors'

export const CONFIG_FILE = 'config.json'
export const WEIGHTS_FILE = 'model.safetensors'
export const TOKENIZER_FILE = 'tokenizer.json'
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json'
export const TRAINER_STATE_FILE = 'trainer_state.json'
/** Transformers refuses a model.safetensors without this metadata. */
export const WEIGHTS_METADATA = { format: 'pt' }

export type JsonObject = { [key: string]: unknown }

/** config.json: `model_type` names the architecture; the rest is the architecture's own settings. */
export interface ModelConfig extends JsonObject {
  model_type: string
}

export type Tensors = Record<string, TensorData>

export interface CheckpointParts {
  config: ModelConfig
  weights: Tensors
  /** The content of tokenizer.json. */
  tokenizer: JsonObject
  /** The content of tokenizer_config.json (chat_template, eos_token, bos_token, pad_token). */
  tokenizerConfig?: JsonObject
  /** The content of trainer_state.json: what resuming the run needs (step, RNG state, data order, run config). */
  trainerState?: JsonObject
  /** Further tensor files by file name, e.g. `optimizer.safetensors` (AdamW moments), `teacher.safetensors` (EMA teacher). */
  extraTensors?: Record<string, Tensors>
}

export interface Checkpoint extends CheckpointParts {
  /** The folder, as an absolute path. */
  dir: string
  /** The extra tensor files that were asked for. */
  extraTensors: Record<string, Tensors>
}

export interface ReadCheckpointOptions {
  supportedModelTypes: string[]
  /** The weights a config needs, name -> shape; weights missing, unexpected or of another shape are refused. */
  expectedWeights?: (config: ModelConfig) => Record<string, number[]>
  /** Extra tensor files to load as well (e.g. `optimizer.safetensors` to resume); each must be present. */
  extraTensors?: string[]
}

export interface CheckpointFile {
  /** The path inside the checkpoint folder, with '/' between folders. */
  name: string
  bytes: number
}

const LISTED = 5
/** How often a read is retried when the folder was replaced while it was being read. */
const READ_ATTEMPTS = 10
const INCOMPLETE = `a checkpoint folder holds ${CONFIG_FILE}, ${WEIGHTS_FILE} and ${TOKENIZER_FILE}`

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)
const suffix = (): string => `${process.pid}-${randomBytes(4).toString('hex')}`
const asidePrefix = (name: string): string => `.${name}.old-`

function extraFileProblem(file: string): string | undefined {
  if (file !== basename(file) || file.startsWith('.')) return 'it must be a plain file name inside the checkpoint folder'
  if (!file.endsWith('.safetensors')) return 'it must end with .safetensors'
  if (file === WEIGHTS_FILE) return `${WEIGHTS_FILE} holds the weights; pick another name`
  return undefined
}

export function writeJson(file: string, value: JsonObject): void {
  const fd = openSync(file, 'wx')
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function writeParts(dir: string, parts: CheckpointParts): void {
  writeJson(join(dir, CONFIG_FILE), parts.config)
  writeSafetensors(join(dir, WEIGHTS_FILE), parts.weights, WEIGHTS_METADATA)
  writeJson(join(dir, TOKENIZER_FILE), parts.tokenizer)
  if (parts.tokenizerConfig) writeJson(join(dir, TOKENIZER_CONFIG_FILE), parts.tokenizerConfig)
  if (parts.trainerState) writeJson(join(dir, TRAINER_STATE_FILE), parts.trainerState)
  for (const [file, tensors] of Object.entries(parts.extraTensors ?? {})) writeSafetensors(join(dir, file), tensors)
}

/** Moves `temporary` to `target`; an existing `target` is first renamed aside and removed only once the new one is in place. */
function moveIntoPlace(temporary: string, target: string): void {
  if (!existsSync(target)) return renameSync(temporary, target)
  const aside = join(dirname(target), `${asidePrefix(basename(target))}${suffix()}`)
  renameSync(target, aside)
  try {
    renameSync(temporary, target)
  } catch (error) {
    renameSync(aside, target)
    throw error
  }
  rmSync(aside, { recursive: true, force: true })
}

/**
 * Writes a checkpoint folder atomically: every file goes into a hidden sibling folder, is flushed to disk, and the
 * folder is renamed to `dir`, replacing an earlier checkpoint there. On failure nothing at `dir` changes.
 */
export function writeCheckpoint(dir: string, parts: CheckpointParts): void {
  const target = resolve(dir)
  const refuse = (problem: string): Error => new Error(`Cannot write checkpoint ${target}: ${problem}.`)
  if (typeof parts.config.model_type !== 'string' || parts.config.model_type === '') {
    throw refuse(`${CONFIG_FILE} needs a "model_type" string naming the architecture`)
  }
  for (const file of Object.keys(parts.extraTensors ?? {})) {
    const problem = extraFileProblem(file)
    if (problem) throw refuse(`extra tensor file "${file}" is refused: ${problem}`)
  }
  writeFolderAtomically(target, (temporary) => writeParts(temporary, parts), [CONFIG_FILE])
}

/**
 * Fills a new folder through `fill` in a hidden sibling, flushed, then renamed to `dir`, replacing an earlier
 * checkpoint there (a folder holding one of `markers`); any other non-empty folder is left alone. On failure nothing
 * at `dir` changes, and a full disk says so.
 */
export function writeFolderAtomically(dir: string, fill: (temporary: string) => void, markers: string[]): void {
  const target = resolve(dir)
  const refuse = (problem: string): Error => new Error(`Cannot write checkpoint ${target}: ${problem}.`)
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw refuse('a file of that name is in the way; remove it or choose another folder')
    if (readdirSync(target).length > 0 && !markers.some((marker) => existsSync(join(target, marker)))) {
      throw refuse(
        `the folder exists and is not a checkpoint (no ${markers.join(' or ')}), so it is left alone; choose another folder`,
      )
    }
  }
  mkdirSync(dirname(target), { recursive: true })
  const temporary = join(dirname(target), `.${basename(target)}.tmp-${suffix()}`)
  try {
    mkdirSync(temporary)
    fill(temporary)
    moveIntoPlace(temporary, target)
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true })
    if (isDiskFull(error)) {
      throw new Error(
        `Cannot write checkpoint ${target}: ${diskFullReason(error)}; the folder is unchanged and earlier checkpoints are intact. ` +
          'Free space on that disk (delete old checkpoints or runs), then save again (a run: resume it).',
        { cause: error },
      )
    }
    throw new Error(`Cannot write checkpoint ${target}; the folder is unchanged. ${(error as Error).message}`, { cause: error })
  }
}

/** A JSON object file of a model folder; an unreadable, malformed or non-object file is an error naming it. */
export function readJson(file: string): JsonObject {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new Error(`Cannot read ${file}: ${fileErrorWords(error)}`, { cause: error })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}). Fix the file or save the checkpoint again.`, {
      cause: error,
    })
  }
  if (!isObject(value)) throw new Error(`${file} holds ${JSON.stringify(value)?.slice(0, 40)}, not a JSON object.`)
  return value
}

function requiredFile(dir: string, file: string): string {
  const path = join(dir, file)
  if (!existsSync(path)) throw new Error(`${path} is missing: ${INCOMPLETE}. Point at a complete checkpoint.`)
  return path
}

const optionalJson = (dir: string, file: string): JsonObject | undefined =>
  existsSync(join(dir, file)) ? readJson(join(dir, file)) : undefined

function someOf(items: string[], what: string): string {
  const shown = items.slice(0, LISTED).join(', ')
  return `${items.length} ${what}${items.length > LISTED ? ` (first ${LISTED}: ${shown})` : `: ${shown}`}`
}

function checkWeights(file: string, weights: Tensors, expected: Record<string, number[]>, modelType: string): void {
  const shapeText = (shape: number[]): string => `[${shape.join(', ')}]`
  const missing = Object.keys(expected).filter((name) => !(name in weights))
  const unexpected = Object.keys(weights).filter((name) => !(name in expected))
  const misshapen = Object.entries(expected)
    .filter(([name, shape]) => weights[name] && shapeText(weights[name].shape) !== shapeText(shape))
    .map(([name, shape]) => `${name} is ${shapeText(weights[name]!.shape)}, the config needs ${shapeText(shape)}`)
  const problems = [
    missing.length > 0 ? someOf(missing, 'missing') : '',
    unexpected.length > 0 ? someOf(unexpected, 'unexpected') : '',
    misshapen.length > 0 ? someOf(misshapen, 'with the wrong shape') : '',
  ].filter(Boolean)
  if (problems.length === 0) return
  throw new Error(
    `${file} does not match ${CONFIG_FILE} (model_type "${modelType}"): weights ${problems.join('; ')}. ` +
      `The weights were saved for another configuration: save the checkpoint again, or restore its own ${CONFIG_FILE}.`,
  )
}

function readConfig(dir: string, supported: string[]): ModelConfig {
  const file = requiredFile(dir, CONFIG_FILE)
  const config = readJson(file)
  const supportedText = supported.map((type) => `"${type}"`).join(', ')
  if (typeof config.model_type !== 'string') {
    throw new Error(
      `${file} has no "model_type" naming the architecture (supported: ${supportedText}). Save the checkpoint again.`,
    )
  }
  if (!supported.includes(config.model_type)) {
    throw new Error(
      `${file} has model_type "${config.model_type}", which this workbench cannot load; supported: ${supportedText}. ` +
        'Pick a checkpoint of a supported architecture.',
    )
  }
  return config as ModelConfig
}

function readOnce(dir: string, options: ReadCheckpointOptions): Checkpoint {
  const config = readConfig(dir, options.supportedModelTypes)
  const weightsFile = requiredFile(dir, WEIGHTS_FILE)
  const weights = readSafetensors(weightsFile).tensors
  if (options.expectedWeights) checkWeights(weightsFile, weights, options.expectedWeights(config), config.model_type)
  const tokenizer = readJson(requiredFile(dir, TOKENIZER_FILE))
  const extraTensors: Record<string, Tensors> = {}
  for (const file of options.extraTensors ?? []) {
    const path = join(dir, file)
    if (!existsSync(path)) throw new Error(`${path} is missing, and it was asked for. Resume from a checkpoint that has it.`)
    extraTensors[file] = readSafetensors(path).tensors
  }
  return {
    dir,
    config,
    weights,
    tokenizer,
    tokenizerConfig: optionalJson(dir, TOKENIZER_CONFIG_FILE),
    trainerState: optionalJson(dir, TRAINER_STATE_FILE),
    extraTensors,
  }
}

/** Which version of the folder is at `dir` now (a replacement is a different folder), or undefined while there is none. */
function folderVersion(dir: string): string | undefined {
  try {
    const stat = statSync(dir, { bigint: true })
    if (!stat.isDirectory()) throw new Error(`${dir} is a file, not a checkpoint folder: ${INCOMPLETE}.`)
    return `${stat.ino}:${stat.birthtimeNs}`
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** A previous version renamed aside by `writeCheckpoint`: present only while a replacement is under way (or was cut off). */
function asidePath(dir: string): string | undefined {
  const prefix = asidePrefix(basename(dir))
  const parent = dirname(dir)
  const aside = existsSync(parent) ? readdirSync(parent).find((name) => name.startsWith(prefix)) : undefined
  return aside && join(parent, aside)
}

function pause(milliseconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds)
}

/**
 * Reads and checks a checkpoint folder. If a writer replaces the folder during the read, the read starts over,
 * so the parts returned always come from one version of the checkpoint.
 */
export function readCheckpoint(dir: string, options: ReadCheckpointOptions): Checkpoint {
  const target = resolve(dir)
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    const before = folderVersion(target)
    if (before === undefined && !asidePath(target)) throw new Error(`Checkpoint folder ${target} does not exist; check the path.`)
    if (before !== undefined) {
      try {
        const checkpoint = readOnce(target, options)
        if (folderVersion(target) === before) return checkpoint
      } catch (error) {
        if (folderVersion(target) === before) throw error
      }
    }
    pause(attempt)
  }
  const aside = asidePath(target)
  if (!existsSync(target) && aside) {
    throw new Error(
      `Checkpoint folder ${target} is missing; an interrupted save left its previous version at ${aside}: rename it back.`,
    )
  }
  throw new Error(`Checkpoint folder ${target} kept being replaced while it was read (${READ_ATTEMPTS} tries). Try again.`)
}

/** The files of a checkpoint folder with their sizes, for showing disk usage. */
export function listCheckpointFiles(dir: string): CheckpointFile[] {
  const root = resolve(dir)
  if (!existsSync(root)) throw new Error(`Checkpoint folder ${root} does not exist; check the path.`)
  const files: CheckpointFile[] = []
  const visit = (folder: string, prefix: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) visit(path, `${prefix}${entry.name}/`)
      else if (entry.isFile()) files.push({ name: `${prefix}${entry.name}`, bytes: statSync(path).size })
    }
  }
  visit(root, '')
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}
