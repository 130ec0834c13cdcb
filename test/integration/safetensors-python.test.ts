// Proves the safetensors code against an independent implementation of the published format: a Python script
// using only the standard library (struct + json), run with Debian's interpreter.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readSafetensors, toFloat32, writeSafetensors, type TensorData } from '../../main/engine/checkpoint/safetensors'
import { freshDirs } from '../helpers/workspace'

const PYTHON = '/usr/bin/python3'
const hasPython = existsSync(PYTHON)
const unlessPython = hasPython ? '' : ` [skipped: ${PYTHON} is absent]`
const freshDir = freshDirs()

const SCRIPT = String.raw`
import json, struct, sys

FORMATS = {'F64': 'd', 'F32': 'f', 'F16': 'e', 'BF16': 'H', 'I64': 'q', 'I32': 'i', 'I16': 'h', 'I8': 'b',
           'U64': 'Q', 'U32': 'I', 'U16': 'H', 'U8': 'B', 'BOOL': '?'}

def write(path):
    # In this order the F32 tensor starts at byte 3 of the data, unaligned for its type.
    tensors = [
        ('bytes', 'U8', [3], [0, 7, 255]),
        ('weights', 'F32', [2, 2], [1.5, -0.1, 3.25e-5, 1e30]),
        ('ids', 'I64', [3], [-(2 ** 63), 2 ** 63 - 1, 42]),
        ('half', 'F16', [3], [1.0, -0.5, 65504.0]),
        ('empty', 'F32', [0, 4], []),
    ]
    header, data = {'__metadata__': {'format': 'pt', 'origin': 'python façade'}}, b''
    for name, dtype, shape, values in tensors:
        raw = struct.pack('<%d%s' % (len(values), FORMATS[dtype]), *values)
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode('utf-8')
    text += b' ' * (-(8 + len(text)) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + data)

def read(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack_from('<Q', raw, 0)
    text = raw[8:8 + n]
    header = json.loads(text.decode('utf-8'))
    start = 8 + n
    out = {'dataStart': start, 'paddedWithSpaces': text.rstrip(b' ').endswith(b'}'),
           'metadata': header.pop('__metadata__', {}), 'tensors': {}}
    position = 0
    for name, info in sorted(header.items(), key=lambda item: item[1]['data_offsets']):
        begin, end = info['data_offsets']
        assert begin == position, 'gap or overlap at ' + name
        count = 1
        for size in info['shape']:
            count *= size
        layout = '<%d%s' % (count, FORMATS[info['dtype']])
        assert end - begin == struct.calcsize(layout), 'wrong size for ' + name
        values = list(struct.unpack_from(layout, raw, start + begin))
        if info['dtype'] == 'BF16':
            values = [struct.unpack('<f', struct.pack('<I', v << 16))[0] for v in values]
        if info['dtype'] in ('I64', 'U64'):
            values = [str(v) for v in values]
        out['tensors'][name] = {'dtype': info['dtype'], 'shape': info['shape'], 'values': values}
        position = end
    assert start + position == len(raw), 'bytes after the last tensor'
    print(json.dumps(out))

{'write': write, 'read': read}[sys.argv[1]](sys.argv[2])
`

function python(mode: 'write' | 'read', file: string): string {
  const result = spawnSync(PYTHON, ['-c', SCRIPT, mode, file], { encoding: 'utf8', timeout: 20_000 })
  if (result.status !== 0) throw new Error(`python ${mode} failed (${result.status}): ${result.stderr}`)
  return result.stdout
}

const values = (tensor: TensorData | undefined): unknown[] => Array.from((tensor?.data ?? []) as ArrayLike<unknown>)

describe('safetensors against an independent Python implementation', () => {
  it.skipIf(!hasPython)(`decodes a file written by the Python writer to the exact values${unlessPython}`, () => {
    const file = join(freshDir(), 'python.safetensors')
    python('write', file)
    const { tensors, metadata } = readSafetensors(file)
    expect(metadata).toEqual({ format: 'pt', origin: 'python façade' })
    expect(Object.keys(tensors).sort()).toEqual(['bytes', 'empty', 'half', 'ids', 'weights'])
    expect(tensors.bytes).toMatchObject({ dtype: 'U8', shape: [3] })
    expect(values(tensors.bytes)).toEqual([0, 7, 255])
    expect(tensors.weights).toMatchObject({ dtype: 'F32', shape: [2, 2] })
    expect(values(tensors.weights)).toEqual([1.5, Math.fround(-0.1), Math.fround(3.25e-5), Math.fround(1e30)])
    expect(tensors.ids).toMatchObject({ dtype: 'I64', shape: [3] })
    expect(values(tensors.ids)).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 42n])
    expect(tensors.half).toMatchObject({ dtype: 'F16', shape: [3] })
    expect(values(tensors.half)).toEqual([0x3c00, 0xb800, 0x7bff])
    expect(Array.from(toFloat32(tensors.half!))).toEqual([1, -0.5, 65504])
    expect(tensors.empty).toMatchObject({ dtype: 'F32', shape: [0, 4] })
    expect(values(tensors.empty)).toEqual([])
  })

  it.skipIf(!hasPython)(
    `writes a file the Python reader decodes to the same names, shapes, dtypes and values${unlessPython}`,
    () => {
      const file = join(freshDir(), 'ours.safetensors')
      writeSafetensors(
        file,
        {
          'model.embed.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array([0.1, -0.2, 0.3, 1e-8, -1e8, 0]) },
          step: { dtype: 'I64', shape: [], data: new BigInt64Array([9007199254740993n]) },
          half: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xb800, 0x7bff]) },
          brain: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc040]) },
          mask: { dtype: 'BOOL', shape: [2, 1], data: new Uint8Array([1, 0]) },
          tokens: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 7, 255]) },
          double: { dtype: 'F64', shape: [1], data: new Float64Array([1 / 3]) },
          small: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
          none: { dtype: 'I32', shape: [0], data: new Int32Array(0) },
        },
        { format: 'pt', run: 'co_rewarding_ii · step 9' },
      )
      const read = JSON.parse(python('read', file)) as {
        dataStart: number
        paddedWithSpaces: boolean
        metadata: unknown
        tensors: unknown
      }
      expect(read.dataStart % 8).toBe(0)
      expect(read.paddedWithSpaces).toBe(true)
      expect(read.metadata).toEqual({ format: 'pt', run: 'co_rewarding_ii · step 9' })
      expect(read.tensors).toEqual({
        'model.embed.weight': {
          dtype: 'F32',
          shape: [2, 3],
          values: [0.1, -0.2, 0.3, 1e-8, -1e8, 0].map(Math.fround),
        },
        step: { dtype: 'I64', shape: [], values: ['9007199254740993'] },
        half: { dtype: 'F16', shape: [3], values: [1, -0.5, 65504] },
        brain: { dtype: 'BF16', shape: [2], values: [1, -3] },
        mask: { dtype: 'BOOL', shape: [2, 1], values: [true, false] },
        tokens: { dtype: 'U8', shape: [3], values: [0, 7, 255] },
        double: { dtype: 'F64', shape: [1], values: [1 / 3] },
        small: { dtype: 'I16', shape: [2], values: [-32768, 32767] },
        none: { dtype: 'I32', shape: [0], values: [] },
      })
    },
  )
})
