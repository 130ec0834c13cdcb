// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length N,
// N bytes of UTF-8 JSON naming each tensor's dtype, shape and byte range, then the tensors' bytes, contiguous and
// row-major. No maintained npm library exists, so this is a small, strict implementation of the published format.
import { randomBytes } from 'node:crypto'
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileErrorWords } from '../../fs-errors'

/** The typed array holding each dtype's values; F16 and BF16 keep their raw 16-bit patterns (see `toFloat32`). */
interface DtypeArrays {
  F64: Float64Array
  F32: Float32Array
  F16: Uint16Array
  BF16: Uint16Array
  I64: BigInt64Array
  I32: Int32Array
  I16: Int16Array
  I8: Int8Array
  U64: BigUint64Array
  U32: Uint32Array
  U16: Uint16Array
  U8: Uint8Array
  BOOL: Uint8Array
}

export type Dtype = keyof DtypeArrays

/** One tensor: its dtype, its shape (`[]` for a scalar) and its values in row-major order. */
export type TensorData = { [D in Dtype]: { dtype: D; shape: number[]; data: DtypeArrays[D] } }[Dtype]

/** What the header says about one tensor; `dataOffsets` are relative to the start of the byte buffer. */
export interface TensorInfo {
  dtype: Dtype
  shape: number[]
  dataOffsets: [number, number]
}

export interface SafetensorsHeader {
  tensors: Record<string, TensorInfo>
  metadata: Record<string, string>
  /** Where the byte buffer starts in the file (8 + the header length). */
  dataStart: number
}

export interface Safetensors {
  tensors: Record<string, TensorData>
  metadata: Record<string, string>
}

interface ArrayType<A> {
  readonly BYTES_PER_ELEMENT: number
  new (length: number): A
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): A
}

const ARRAYS: { [D in Dtype]: ArrayType<DtypeArrays[D]> } = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
}

const DTYPES = Object.keys(ARRAYS) as Dtype[]
const METADATA_KEY = '__metadata__'
/** The reference implementation's limit: anything larger is not a safetensors header. */
const MAX_HEADER_BYTES = 100_000_000
const LENGTH_BYTES = 8
const ALIGNMENT = 8
const CORRUPT = 'The file is damaged or not a safetensors file: save it again from its source.'

// Typed arrays use the machine's byte order and the format is little-endian; every platform the app ships on is.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

function requireLittleEndian(): void {
  if (!littleEndian) throw new Error('Reading and writing safetensors needs a little-endian machine; this one is big-endian.')
}

const isDtype = (value: unknown): value is Dtype => typeof value === 'string' && Object.hasOwn(ARRAYS, value)
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`
const elementCount = (shape: readonly number[]): number => shape.reduce((count, size) => count * size, 1)

function byteSize(dtype: Dtype, shape: readonly number[]): number {
  return elementCount(shape) * ARRAYS[dtype].BYTES_PER_ELEMENT
}

function damaged(source: string, problem: string): Error {
  return new Error(`${source}: ${problem}. ${CORRUPT}`)
}

/** The first key that appears twice in one object of valid JSON text (JSON.parse silently keeps the last). */
function repeatedKey(json: string): string | undefined {
  const objects: (Set<string> | undefined)[] = []
  for (let i = 0; i < json.length; i++) {
    const char = json[i]
    if (char === '{') objects.push(new Set())
    else if (char === '[') objects.push(undefined)
    else if (char === '}' || char === ']') objects.pop()
    else if (char === '"') {
      let end = i + 1
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1
      let next = end + 1
      while (/\s/.test(json[next] ?? '')) next++
      const keys = objects.at(-1)
      if (json[next] === ':' && keys) {
        const key = JSON.parse(json.slice(i, end + 1)) as string
        if (keys.has(key)) return key
        keys.add(key)
      }
      i = end
    }
  }
  return undefined
}

/** Reads and checks the 8-byte header length against the size of the file. */
function headerLength(prefix: Uint8Array, fileBytes: number, source: string): number {
  if (fileBytes < LENGTH_BYTES) {
    throw damaged(source, `the file is ${fileBytes} bytes, shorter than the 8-byte header length it must start with`)
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_BYTES).getBigUint64(0, true)
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw damaged(source, `the header length is ${length} bytes, over the ${MAX_HEADER_BYTES}-byte limit`)
  }
  const bytes = Number(length)
  if (LENGTH_BYTES + bytes > fileBytes) {
    throw damaged(
      source,
      `the header length is ${bytes} bytes but only ${fileBytes - LENGTH_BYTES} follow: the file is truncated`,
    )
  }
  return bytes
}

function parseEntry(name: string, entry: unknown, source: string): TensorInfo {
  const problem = (what: string): Error => damaged(source, `tensor "${name}" ${what}`)
  if (!isObject(entry)) throw problem(`is described by ${JSON.stringify(entry)}, not by an object`)
  const { dtype, shape, data_offsets: offsets } = entry
  if (!isDtype(dtype)) throw problem(`has dtype ${JSON.stringify(dtype)}, which is not one of ${DTYPES.join(', ')}`)
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw problem(`has shape ${JSON.stringify(shape)}, not a list of non-negative integers`)
  }
  const [begin, end] = Array.isArray(offsets) && offsets.length === 2 ? (offsets as unknown[]) : []
  if (!isCount(begin) || !isCount(end) || begin > end) {
    throw problem(`has data_offsets ${JSON.stringify(offsets)}, not two non-negative integers [begin, end] with begin <= end`)
  }
  return { dtype, shape: shape as number[], dataOffsets: [begin, end] }
}

/** Checks that the tensors fit the buffer and fill it exactly: in bounds, each the size of its shape, no gaps or overlaps. */
function checkLayout(tensors: Record<string, TensorInfo>, bufferBytes: number, source: string): void {
  const ordered = Object.entries(tensors).sort(
    ([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  )
  let position = 0
  let previous = ''
  for (const [name, { dtype, shape, dataOffsets }] of ordered) {
    const [begin, end] = dataOffsets
    if (end > bufferBytes) {
      throw damaged(
        source,
        `tensor "${name}" has data_offsets [${begin}, ${end}] past the end of the ${bufferBytes}-byte data: the file is truncated`,
      )
    }
    const expected = byteSize(dtype, shape)
    if (end - begin !== expected) {
      throw damaged(source, `tensor "${name}" spans ${end - begin} bytes but ${dtype} ${shapeText(shape)} takes ${expected}`)
    }
    if (begin < position)
      throw damaged(source, `tensor "${name}" at [${begin}, ${end}] overlaps tensor "${previous}" ending at ${position}`)
    if (begin > position)
      throw damaged(source, `there is a gap of ${begin - position} unclaimed bytes before tensor "${name}" at ${begin}`)
    position = end
    previous = name
  }
  if (position !== bufferBytes) throw damaged(source, `${bufferBytes - position} bytes after the last tensor belong to no tensor`)
}

function parseHeader(bytes: Uint8Array, bufferBytes: number, source: string): SafetensorsHeader {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw damaged(source, 'the header is not UTF-8 text')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw damaged(source, `the header is not JSON (${(error as Error).message})`)
  }
  if (!isObject(parsed)) throw damaged(source, `the header is ${JSON.stringify(parsed)?.slice(0, 40)}, not a JSON object`)
  const repeated = repeatedKey(text)
  if (repeated !== undefined) throw damaged(source, `the header names "${repeated}" twice`)
  const metadata: Record<string, string> = {}
  const tensors: Record<string, TensorInfo> = {}
  for (const [name, entry] of Object.entries(parsed)) {
    if (name !== METADATA_KEY) {
      tensors[name] = parseEntry(name, entry, source)
      continue
    }
    if (!isObject(entry)) throw damaged(source, `${METADATA_KEY} is ${JSON.stringify(entry)}, not an object of strings`)
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value !== 'string') throw damaged(source, `${METADATA_KEY} "${key}" is ${JSON.stringify(value)}, not a string`)
      metadata[key] = value
    }
  }
  checkLayout(tensors, bufferBytes, source)
  return { tensors, metadata, dataStart: LENGTH_BYTES + bytes.length }
}

/** `length` values of `dtype` viewed in place over `bytes`, which must be aligned for the element type. */
export function viewTensor(dtype: Dtype, bytes: Uint8Array, length: number): TensorData {
  return { dtype, shape: [length], data: new ARRAYS[dtype](bytes.buffer, bytes.byteOffset, length) } as TensorData
}

/** Views the tensor's bytes in place when they are aligned for its element type, else copies them to a fresh array. */
function tensorAt(bytes: Uint8Array, start: number, { dtype, shape, dataOffsets: [begin, end] }: TensorInfo): TensorData {
  const Type = ARRAYS[dtype]
  const length = (end - begin) / Type.BYTES_PER_ELEMENT
  const offset = bytes.byteOffset + start + begin
  if (offset % Type.BYTES_PER_ELEMENT === 0) return { dtype, shape, data: new Type(bytes.buffer, offset, length) } as TensorData
  const data = new Type(length)
  new Uint8Array(data.buffer).set(bytes.subarray(start + begin, start + end))
  return { dtype, shape, data } as TensorData
}

/**
 * Decodes a whole safetensors file held in memory; `source` (usually the file path) names it in errors.
 * Tensors share memory with `bytes` where alignment allows, so copy them before reusing `bytes`.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): Safetensors {
  requireLittleEndian()
  const length = headerLength(bytes, bytes.length, source)
  const header = parseHeader(bytes.subarray(LENGTH_BYTES, LENGTH_BYTES + length), bytes.length - LENGTH_BYTES - length, source)
  const tensors: Record<string, TensorData> = {}
  for (const [name, info] of Object.entries(header.tensors)) tensors[name] = tensorAt(bytes, header.dataStart, info)
  return { tensors, metadata: header.metadata }
}

function readFailure(file: string, error: unknown): Error {
  return new Error(`Cannot read ${file}: ${fileErrorWords(error)}`, { cause: error })
}

export function readSafetensors(file: string): Safetensors {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw readFailure(file, error)
  }
  return decodeSafetensors(bytes, file)
}

function readExactly(fd: number, bytes: number, position: number): Uint8Array {
  const buffer = new Uint8Array(bytes)
  let done = 0
  while (done < bytes) {
    const read = readSync(fd, buffer, done, bytes - done, position + done)
    if (read === 0) break
    done += read
  }
  return buffer.subarray(0, done)
}

/** Reads and checks only the header, so a large file can be inspected without loading its tensors. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (error) {
    throw readFailure(file, error)
  }
  try {
    const fileBytes = fstatSync(fd).size
    const length = headerLength(readExactly(fd, LENGTH_BYTES, 0), fileBytes, file)
    return parseHeader(readExactly(fd, length, LENGTH_BYTES), fileBytes - LENGTH_BYTES - length, file)
  } finally {
    closeSync(fd)
  }
}

interface Layout {
  header: Uint8Array
  chunks: Uint8Array[]
  bytes: number
}

function checkTensor(name: string, tensor: TensorData, target: string | undefined): void {
  const problem = (what: string): Error => new Error(`Cannot save tensor "${name}"${target ? ` to ${target}` : ''}: ${what}.`)
  if (name === METADATA_KEY) throw problem(`${METADATA_KEY} is reserved for the metadata; rename the tensor`)
  const { dtype, shape, data } = tensor
  if (!isDtype(dtype)) throw problem(`dtype ${JSON.stringify(dtype)} is not one of ${DTYPES.join(', ')}`)
  if (!(data instanceof ARRAYS[dtype]))
    throw problem(`${dtype} values must be a ${ARRAYS[dtype].name}, not ${String(data?.constructor.name)}`)
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw problem(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`)
  }
  const count = elementCount(shape)
  if (data.length !== count) throw problem(`shape ${shapeText(shape)} holds ${count} values but the data has ${data.length}`)
}

/**
 * Lays tensors out largest element type first, then by name (as the Python library does), so that every tensor
 * starts aligned for its type; the header is padded with spaces so the data starts at a multiple of 8.
 */
function layOut(tensors: Record<string, TensorData>, metadata: Record<string, string>, target?: string): Layout {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new Error(`Cannot save metadata "${key}"${target ? ` to ${target}` : ''}: it is a ${typeof value}, not a string.`)
    }
  }
  for (const [name, tensor] of Object.entries(tensors)) checkTensor(name, tensor, target)
  const size = (name: string): number => ARRAYS[tensors[name]!.dtype].BYTES_PER_ELEMENT
  const names = Object.keys(tensors).sort((a, b) => size(b) - size(a) || (a < b ? -1 : a > b ? 1 : 0))
  const entries: string[] = Object.keys(metadata).length > 0 ? [`"${METADATA_KEY}":${JSON.stringify(metadata)}`] : []
  const chunks: Uint8Array[] = []
  let bytes = 0
  for (const name of names) {
    const { dtype, shape, data } = tensors[name]!
    entries.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape, data_offsets: [bytes, bytes + data.byteLength] })}`)
    chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    bytes += data.byteLength
  }
  const json = Buffer.from(`{${entries.join(',')}}`, 'utf8')
  const header = Buffer.alloc(LENGTH_BYTES + json.length + ((ALIGNMENT - (json.length % ALIGNMENT)) % ALIGNMENT), ' ')
  header.writeBigUInt64LE(BigInt(header.length - LENGTH_BYTES), 0)
  json.copy(header, LENGTH_BYTES)
  return { header, chunks, bytes }
}

/** The whole file in memory; `writeSafetensors` streams the same bytes to disk instead. */
export function encodeSafetensors(tensors: Record<string, TensorData>, metadata: Record<string, string> = {}): Buffer {
  requireLittleEndian()
  const { header, chunks, bytes } = layOut(tensors, metadata)
  return Buffer.concat([header, ...chunks], header.length + bytes)
}

/** Writes through a temporary sibling, flushed to disk, then renamed: a reader sees the old file or the new one, never half. */
export function writeSafetensors(file: string, tensors: Record<string, TensorData>, metadata: Record<string, string> = {}): void {
  requireLittleEndian()
  const { header, chunks } = layOut(tensors, metadata, file)
  writeFileAtomically(file, (put) => {
    for (const chunk of [header, ...chunks]) put(chunk)
  })
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * fraction * 2 ** -24
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15)
}

/** The tensor's values as 32-bit floats (F32 data is returned as is; F16, BF16, F64 and integers are converted). */
export function toFloat32(tensor: TensorData): Float32Array {
  switch (tensor.dtype) {
    case 'F32':
      return tensor.data
    case 'F16':
      return Float32Array.from(tensor.data, halfToFloat)
    case 'BF16': {
      // A bfloat16 is the top half of a float32's bits.
      const bits = new Uint32Array(tensor.data.length)
      tensor.data.forEach((half, i) => (bits[i] = half << 16))
      return new Float32Array(bits.buffer)
    }
    case 'I64':
    case 'U64':
      return Float32Array.from(tensor.data, Number)
    default:
      return Float32Array.from(tensor.data)
  }
}

/** One tensor of a streamed file: its name, dtype and shape now, its values only when its turn comes. */
export interface StreamedTensor {
  name: string
  dtype: Dtype
  shape: number[]
  values(): TensorData['data']
}

/**
 * Writes a safetensors file one tensor at a time, in the order given: the header is laid out from the names, dtypes
 * and shapes, then each tensor's values are asked for, written and dropped, so at most one tensor is in memory.
 * Through a temporary sibling, flushed, then renamed, as `writeSafetensors`.
 */
export function writeSafetensorsStreamed(file: string, tensors: StreamedTensor[], metadata: Record<string, string> = {}): void {
  requireLittleEndian()
  const entries: string[] = Object.keys(metadata).length > 0 ? [`"${METADATA_KEY}":${JSON.stringify(metadata)}`] : []
  let bytes = 0
  const seen = new Set<string>()
  for (const { name, dtype, shape } of tensors) {
    if (name === METADATA_KEY || seen.has(name))
      throw new Error(`Cannot write ${file}: tensor name "${name}" is reserved or repeated.`)
    seen.add(name)
    const size = byteSize(dtype, shape)
    entries.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape, data_offsets: [bytes, bytes + size] })}`)
    bytes += size
  }
  const json = Buffer.from(`{${entries.join(',')}}`, 'utf8')
  const header = Buffer.alloc(LENGTH_BYTES + json.length + ((ALIGNMENT - (json.length % ALIGNMENT)) % ALIGNMENT), ' ')
  header.writeBigUInt64LE(BigInt(header.length - LENGTH_BYTES), 0)
  json.copy(header, LENGTH_BYTES)
  writeFileAtomically(file, (put) => {
    put(header)
    for (const tensor of tensors) {
      const data = tensor.values()
      checkTensor(tensor.name, { dtype: tensor.dtype, shape: tensor.shape, data } as TensorData, file)
      put(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    }
  })
}

/** Writes `file` through a temporary sibling, flushed, then renamed; `write` puts the bytes in order. */
function writeFileAtomically(file: string, write: (put: (chunk: Uint8Array) => void) => void): void {
  const temporary = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    const fd = openSync(temporary, 'wx')
    try {
      write((chunk) => {
        for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done, chunk.length - done)
      })
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temporary, file)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw new Error(`Cannot write ${file}: ${(error as Error).message}`, { cause: error })
  }
}
