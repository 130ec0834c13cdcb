import { describe, expect, it } from 'vitest'
import { decodeSafetensors, encodeSafetensors, toFloat32, type TensorData } from '../../main/engine/checkpoint/safetensors'

/** A safetensors file assembled by hand: the 8-byte length, the header text as given, then the data bytes. */
function fileOf(header: string, data: number[] = []): Uint8Array {
  const text = Buffer.from(header, 'utf8')
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(text.length))
  return Buffer.concat([length, text, Buffer.from(data)])
}

const entry = (dtype: string, shape: unknown, offsets: unknown): string => JSON.stringify({ dtype, shape, data_offsets: offsets })

const values = (tensor: TensorData | undefined): (number | bigint)[] =>
  Array.from((tensor?.data ?? []) as ArrayLike<number | bigint>)

const headerLength = (bytes: Uint8Array): number => Number(Buffer.from(bytes).readBigUInt64LE(0))

describe('safetensors encoding', () => {
  it('round-trips every dtype with its extreme values', () => {
    const tensors: Record<string, TensorData> = {
      f64: { dtype: 'F64', shape: [3], data: new Float64Array([1 / 3, -Number.MAX_VALUE, Number.MIN_VALUE]) },
      f32: { dtype: 'F32', shape: [2, 2], data: new Float32Array([0.1, -2.5, Infinity, NaN]) },
      f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xfbff]) },
      bf16: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc040]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
      i32: { dtype: 'I32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
      i16: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
      i8: { dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) },
      u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
      u32: { dtype: 'U32', shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
      u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
      u8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
      mask: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    }
    const { tensors: decoded } = decodeSafetensors(encodeSafetensors(tensors), 'round-trip')
    expect(Object.keys(decoded).sort()).toEqual(Object.keys(tensors).sort())
    for (const [name, tensor] of Object.entries(tensors)) {
      expect(decoded[name]?.dtype, name).toBe(tensor.dtype)
      expect(decoded[name]?.shape, name).toEqual(tensor.shape)
      expect(decoded[name]?.data.constructor, name).toBe(tensor.data.constructor)
      expect(values(decoded[name]), name).toEqual(values(tensor))
    }
  })

  it('keeps empty tensors and scalars', () => {
    const bytes = encodeSafetensors({
      empty: { dtype: 'F32', shape: [2, 0, 3], data: new Float32Array(0) },
      scalar: { dtype: 'I32', shape: [], data: new Int32Array([42]) },
    })
    const { tensors } = decodeSafetensors(bytes, 'shapes')
    expect(tensors.empty).toMatchObject({ dtype: 'F32', shape: [2, 0, 3] })
    expect(tensors.empty?.data.length).toBe(0)
    expect(tensors.scalar).toMatchObject({ dtype: 'I32', shape: [] })
    expect(values(tensors.scalar)).toEqual([42])
  })

  it('keeps string metadata, and writes no __metadata__ entry when there is none', () => {
    const tensors: Record<string, TensorData> = { w: { dtype: 'U8', shape: [1], data: new Uint8Array([9]) } }
    const withMetadata = encodeSafetensors(tensors, { format: 'pt', note: 'pas de problème' })
    expect(decodeSafetensors(withMetadata, 'meta').metadata).toEqual({ format: 'pt', note: 'pas de problème' })
    const without = encodeSafetensors(tensors)
    expect(decodeSafetensors(without, 'meta').metadata).toEqual({})
    expect(Buffer.from(without).toString('utf8')).not.toContain('__metadata__')
  })

  it('pads the header with spaces so the data starts at a multiple of 8, whatever the header length', () => {
    const paddings = new Set<number>()
    for (let nameLength = 1; nameLength <= 8; nameLength++) {
      const bytes = encodeSafetensors({ ['n'.repeat(nameLength)]: { dtype: 'F64', shape: [1], data: new Float64Array([2]) } })
      const length = headerLength(bytes)
      expect((8 + length) % 8).toBe(0)
      const text = Buffer.from(bytes.subarray(8, 8 + length)).toString('latin1')
      const padding = text.length - text.trimEnd().length
      expect(text.slice(text.length - padding)).toBe(' '.repeat(padding))
      paddings.add(padding)
    }
    expect([...paddings].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('lays out tensors with the widest element type first, so each one is aligned for its type', () => {
    const bytes = encodeSafetensors({
      a_byte: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) },
      b_double: { dtype: 'F64', shape: [1], data: new Float64Array([1]) },
      c_half: { dtype: 'F16', shape: [1], data: new Uint16Array([1]) },
    })
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength(bytes))).toString('utf8')) as Record<
      string,
      { data_offsets: number[] }
    >
    expect(header.b_double?.data_offsets).toEqual([0, 8])
    expect(header.c_half?.data_offsets).toEqual([8, 10])
    expect(header.a_byte?.data_offsets).toEqual([10, 11])
  })

  it('writes exactly the bytes of a hand-built file', () => {
    const bytes = encodeSafetensors(
      {
        b: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
        a: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) },
      },
      { k: 'v' },
    )
    const json =
      '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}'
    // 132 bytes of JSON + 4 spaces = 136 = 0x88; 8 + 136 = 144 is a multiple of 8.
    const expected = [
      ...[0x88, 0, 0, 0, 0, 0, 0, 0],
      ...Buffer.from(json, 'utf8'),
      ...[0x20, 0x20, 0x20, 0x20],
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f
      ...[0x00, 0x00, 0x00, 0xc0], // -2.0f
      ...[0x01, 0x02, 0x03],
    ]
    expect(json.length).toBe(132)
    expect([...bytes]).toEqual(expected)
  })

  it('reads a hand-built file, copying a tensor whose bytes are not aligned for its type', () => {
    const json = '{"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}'
    const file = fileOf(json, [7, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0])
    const { tensors } = decodeSafetensors(file, 'hand-built')
    expect(values(tensors.b)).toEqual([7])
    expect(values(tensors.a)).toEqual([1, -2])
    expect(tensors.a!.data.byteOffset % 4).toBe(0)
  })

  it('views aligned tensor data in place instead of copying it', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([3, 4]) } })
    const { tensors } = decodeSafetensors(bytes, 'view')
    expect(tensors.w?.data.buffer).toBe(bytes.buffer)
  })
})

describe('safetensors encoding refuses tensors it cannot write', () => {
  it('names a tensor whose data does not fill its shape', () => {
    expect(() => encodeSafetensors({ 'layer.0.w': { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } })).toThrow(
      'Cannot save tensor "layer.0.w": shape [2, 3] holds 6 values but the data has 5.',
    )
  })

  it('names a tensor whose typed array does not match its dtype', () => {
    const wrong = { dtype: 'F16', shape: [1], data: new Float32Array(1) } as unknown as TensorData
    expect(() => encodeSafetensors({ h: wrong })).toThrow(
      'Cannot save tensor "h": F16 values must be a Uint16Array, not Float32Array.',
    )
  })

  it('refuses a tensor named __metadata__ and metadata that is not a string', () => {
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(
      /__metadata__ is reserved/,
    )
    expect(() => encodeSafetensors({}, { step: 3 } as unknown as Record<string, string>)).toThrow(
      'Cannot save metadata "step": it is a number, not a string.',
    )
  })
})

describe('safetensors decoding refuses malformed files, naming the file and the tensor', () => {
  const decode = (bytes: Uint8Array) => () => decodeSafetensors(bytes, 'bad.safetensors')
  const u8 = (shape: unknown, offsets: unknown): string => `{"t":${entry('U8', shape, offsets)}}`

  it.each([
    [
      'a file shorter than the header length',
      new Uint8Array([1, 2, 3]),
      /bad\.safetensors: the file is 3 bytes, shorter than the 8-byte header length/,
    ],
    [
      'an absurd header length',
      new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]),
      /bad\.safetensors: the header length is 72057594037927936 bytes, over the 100000000-byte limit/,
    ],
    [
      'a header longer than the file',
      fileOf('{}').subarray(0, 9),
      /the header length is 2 bytes but only 1 follow: the file is truncated/,
    ],
    ['a header that is not UTF-8', fileOf('{}').fill(0xff, 8), /the header is not UTF-8 text/],
    ['a header that is not JSON', fileOf('{"t": '), /the header is not JSON \(/],
    ['a header that is not an object', fileOf('[1, 2]'), /the header is \[1,2\], not a JSON object/],
    [
      'an unknown dtype',
      fileOf(`{"t":${entry('F12', [1], [0, 1])}}`, [0]),
      /tensor "t" has dtype "F12", which is not one of F64, F32/,
    ],
    ['a negative dimension', fileOf(u8([-1], [0, 0])), /tensor "t" has shape \[-1\], not a list of non-negative integers/],
    ['a fractional dimension', fileOf(u8([1.5], [0, 0])), /tensor "t" has shape \[1.5\], not a list/],
    ['a shape that is not a list', fileOf(u8('2', [0, 2]), [0, 0]), /tensor "t" has shape "2", not a list/],
    [
      'offsets that run backwards',
      fileOf(u8([0], [2, 1]), [0, 0]),
      /tensor "t" has data_offsets \[2,1\], not two non-negative integers/,
    ],
    [
      'offsets past the end of the data',
      fileOf(u8([4], [0, 4]), [1, 2]),
      /tensor "t" has data_offsets \[0, 4\] past the end of the 2-byte data: the file is truncated/,
    ],
    [
      'a size that does not match shape and dtype',
      fileOf(`{"t":${entry('F32', [2], [0, 4])}}`, [0, 0, 0, 0]),
      /tensor "t" spans 4 bytes but F32 \[2\] takes 8/,
    ],
    [
      'overlapping tensors',
      fileOf(`{"a":${entry('U8', [2], [0, 2])},"b":${entry('U8', [2], [1, 3])}}`, [0, 0, 0]),
      /tensor "b" at \[1, 3\] overlaps tensor "a" ending at 2/,
    ],
    [
      'a gap between tensors',
      fileOf(`{"a":${entry('U8', [1], [0, 1])},"b":${entry('U8', [1], [2, 3])}}`, [0, 0, 0]),
      /a gap of 1 unclaimed bytes before tensor "b" at 2/,
    ],
    ['bytes after the last tensor', fileOf(u8([1], [0, 1]), [0, 0, 0]), /2 bytes after the last tensor belong to no tensor/],
    [
      'a tensor named twice',
      fileOf(`{"t":${entry('U8', [1], [0, 1])}, "t" :${entry('U8', [1], [0, 1])}}`, [0]),
      /the header names "t" twice/,
    ],
    ['metadata that is not a string', fileOf('{"__metadata__":{"step":3}}'), /__metadata__ "step" is 3, not a string/],
  ])('%s', (_, bytes, message) => {
    expect(decode(bytes)).toThrow(message)
    expect(decode(bytes)).toThrow(/^bad\.safetensors: .*The file is damaged or not a safetensors file/)
  })

  it('refuses a truncated copy of a valid file at every length', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) } }, { a: 'b' })
    for (let length = 0; length < bytes.length; length++) {
      expect(() => decodeSafetensors(bytes.subarray(0, length), 'cut.safetensors')).toThrow(/^cut\.safetensors: /)
    }
  })
})

describe('toFloat32', () => {
  it('converts half-precision bit patterns by the IEEE 754 rules', () => {
    const half: TensorData = {
      dtype: 'F16',
      shape: [8],
      data: new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x7c00, 0x8000, 0x7e00]),
    }
    expect(Array.from(toFloat32(half))).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125, Infinity, -0, NaN])
  })

  it('converts bfloat16 as the top half of a float32', () => {
    const bf16: TensorData = { dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc040, 0x4049]) }
    expect(Array.from(toFloat32(bf16))).toEqual([1, -3, 3.140625])
  })

  it('converts doubles and integers, and returns float32 data as it is', () => {
    const f32 = new Float32Array([1.5])
    expect(toFloat32({ dtype: 'F32', shape: [1], data: f32 })).toBe(f32)
    expect(Array.from(toFloat32({ dtype: 'F64', shape: [1], data: new Float64Array([0.1]) }))).toEqual([Math.fround(0.1)])
    expect(Array.from(toFloat32({ dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 7n]) }))).toEqual([-5, 7])
    expect(Array.from(toFloat32({ dtype: 'I8', shape: [1], data: new Int8Array([-128]) }))).toEqual([-128])
  })
})
