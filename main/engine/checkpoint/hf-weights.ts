// The weights of a Hugging Face model folder: one model.safetensors, or shards listed by
// model.safetensors.index.json (`weight_map`: tensor name -> file). Tensors are read one at a time from their file
// (only headers are kept), so a model never needs all its raw files in memory at once. The folder is only read.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { readSafetensorsHeader, toFloat32, viewTensor } from './safetensors'
import type { SafetensorsHeader } from './safetensors'

export const SINGLE_FILE = 'model.safetensors'
export const INDEX_FILE = 'model.safetensors.index.json'

export interface WeightFiles {
  /** Tensor name -> the file holding it (an absolute path). */
  files: Map<string, string>
  /** Tensor name -> dtype and shape, from the files' headers. */
  shapes: Map<string, { dtype: string; shape: number[] }>
  /** Reads one tensor as float32 values. */
  read(name: string): Float32Array
}

/** Reads the shard index: which file holds each tensor. */
export function readShardIndex(dir: string): Map<string, string> {
  const path = join(dir, INDEX_FILE)
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`, { cause: error })
  }
  const map = (parsed as { weight_map?: unknown } | null)?.weight_map
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new Error(`${path}: "weight_map" is missing or not an object`)
  const files = new Map<string, string>()
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file.startsWith('.')) {
      throw new Error(`${path}: weight_map "${name}" is ${JSON.stringify(file)}, not a file name in the folder`)
    }
    files.set(name, join(dir, file))
  }
  return files
}

/** Opens the weights of `dir` (sharded when an index is present, else model.safetensors). */
export function openWeightFiles(dir: string): WeightFiles {
  let files: Map<string, string>
  const headers = new Map<string, SafetensorsHeader>()
  const header = (file: string): SafetensorsHeader => {
    if (!headers.has(file)) {
      if (!existsSync(file)) throw new Error(`${file} is missing (named by ${join(dir, INDEX_FILE)})`)
      headers.set(file, readSafetensorsHeader(file))
    }
    return headers.get(file)!
  }
  if (existsSync(join(dir, INDEX_FILE))) files = readShardIndex(dir)
  else if (existsSync(join(dir, SINGLE_FILE))) {
    const file = join(dir, SINGLE_FILE)
    files = new Map(Object.keys(header(file).tensors).map((name) => [name, file]))
  } else throw new Error(`${dir} has neither ${SINGLE_FILE} nor ${INDEX_FILE}: no weights to load`)
  const shapes = new Map<string, { dtype: string; shape: number[] }>()
  for (const [name, file] of files) {
    const info = header(file).tensors[name]
    if (!info) throw new Error(`${file} has no tensor "${name}", though ${INDEX_FILE} places it there`)
    shapes.set(name, { dtype: info.dtype, shape: info.shape })
  }
  return {
    files,
    shapes,
    read(name) {
      const file = files.get(name)
      if (!file) throw new Error(`weight ${name} is in none of the weight files of ${dir}`)
      const { dataStart, tensors } = header(file)
      const { dtype, shape, dataOffsets } = tensors[name]!
      if (!['F32', 'F16', 'BF16'].includes(dtype))
        throw new Error(`${file}: tensor "${name}" is ${dtype}; weights must be F32, F16 or BF16`)
      const bytes = new Uint8Array(dataOffsets[1] - dataOffsets[0])
      const fd = openSync(file, 'r')
      try {
        for (let done = 0; done < bytes.length;) {
          const read = readSync(fd, bytes, done, bytes.length - done, dataStart + dataOffsets[0] + done)
          if (read === 0) throw new Error(`${file} ends inside tensor "${name}": the file is truncated`)
          done += read
        }
      } finally {
        closeSync(fd)
      }
      const count = shape.reduce((a, b) => a * b, 1)
      return toFloat32(viewTensor(dtype, bytes, count))
    },
  }
}
