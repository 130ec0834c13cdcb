import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Backend } from '../../preload/contract'
import { tempDir } from '../helpers/workspace'
import { preferredTfBackend, probeBackends, reasonOf, type Importer } from '../../main/backends/probe'

const notInstalled = (specifier: string): Error =>
  Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' })

/** A stand-in for @tensorflow/tfjs-node(-gpu): these native packages cannot be installed on CI machines. */
function fakeNativeTf(): unknown {
  let backend = 'cpu'
  return {
    setBackend: async (name: string) => ((backend = name), true),
    ready: async () => {},
    getBackend: () => backend,
    env: () => ({ set: () => {} }),
    tensor1d: (values: number[]) => ({
      add: () => ({ dataSync: () => values.map((v) => v * 2), dispose: () => {} }),
      dispose: () => {},
    }),
  }
}

const realImport: Importer = (specifier) => import(specifier)

describe('the backend probe', () => {
  it('finds wasm, cpu and onnxruntime cpu here, and says why the native TensorFlow packages are missing', async () => {
    const backends = await probeBackends({
      importer: (s) => (s.startsWith('@tensorflow/tfjs-node') ? Promise.reject(notInstalled(s)) : realImport(s)),
    })
    const byName = Object.fromEntries(backends.map((b) => [`${b.family}/${b.name}`, b]))
    expect(byName['tfjs/wasm']?.available).toBe(true)
    expect(byName['tfjs/cpu']?.available).toBe(true)
    expect(byName['onnxruntime/cpu']?.available).toBe(true)
    expect(byName['tfjs/tensorflow-gpu']).toMatchObject({
      available: false,
      detail: expect.stringContaining('npm run setup:gpu'),
    })
    expect(byName['tfjs/tensorflow']).toMatchObject({ available: false, detail: expect.stringContaining('not installed') })
    expect(preferredTfBackend(backends)?.name).toBe('wasm')
  })

  it('prefers tensorflow-gpu when @tensorflow/tfjs-node-gpu loads (module mocked)', async () => {
    const backends = await probeBackends({
      importer: (s) => (s === '@tensorflow/tfjs-node-gpu' ? Promise.resolve(fakeNativeTf()) : realImport(s)),
    })
    expect(backends.find((b) => b.name === 'tensorflow-gpu')?.available).toBe(true)
    expect(preferredTfBackend(backends)?.name).toBe('tensorflow-gpu')
  })

  it('reports the first line of a native load failure, e.g. missing CUDA libraries (module mocked)', async () => {
    const cudaMissing = new Error(
      'libcudart.so.11.0: cannot open shared object file: No such file or directory\n    at Module._load',
    )
    const backends = await probeBackends({
      importer: (s) => (s === '@tensorflow/tfjs-node-gpu' ? Promise.reject(cudaMissing) : realImport(s)),
    })
    expect(backends.find((b) => b.name === 'tensorflow-gpu')?.detail).toBe(
      '@tensorflow/tfjs-node-gpu failed to load: libcudart.so.11.0: cannot open shared object file: No such file or directory',
    )
  })

  it("sees onnxruntime's CUDA provider only once its library is installed (onnxruntime CUDA provider mocked)", async () => {
    const ort = {
      listSupportedBackends: () => [
        { name: 'cpu', bundled: true },
        { name: 'cuda', bundled: false },
      ],
    }
    const { dir, remove } = tempDir()
    const binDir = join(dir, 'bin', 'napi-v6', process.platform, process.arch)
    mkdirSync(binDir, { recursive: true })
    const options = {
      importer: (s: string) => (s === 'onnxruntime-node' ? Promise.resolve(ort) : realImport(s)),
      resolveFile: () => join(dir, 'package.json'),
    }
    const cuda = async (): Promise<Backend | undefined> =>
      (await probeBackends(options)).find((b) => b.family === 'onnxruntime' && b.name === 'cuda')
    try {
      expect(await cuda()).toMatchObject({ available: false, detail: expect.stringContaining('setup:gpu') })
      writeFileSync(join(binDir, 'libonnxruntime_providers_cuda.so'), '')
      expect(await cuda()).toMatchObject({ available: true })
    } finally {
      remove()
    }
  })

  it('says "not installed" for a missing module and keeps other errors to one line', () => {
    expect(reasonOf(notInstalled('x'))).toBe('not installed')
    expect(reasonOf(new Error('first\nsecond'))).toBe('first')
  })
})
