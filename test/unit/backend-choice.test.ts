// The native TensorFlow packages cannot be installed on these machines: here they are mocked by modules that
// register a 'tensorflow' backend (as the real ones do) on top of tfjs's cpu kernels.
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { chooseBackend } from '../../main/engine/backend'

const notInstalled = (specifier: string): Promise<never> =>
  Promise.reject(Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' }))

function fakeNativeTensorflow(): unknown {
  if (!tf.findBackend('tensorflow')) tf.registerBackend('tensorflow', tf.findBackendFactory('cpu')!)
  return {}
}

describe('choosing the tfjs backend', () => {
  it('prefers tensorflow-gpu when @tensorflow/tfjs-node-gpu loads (module mocked)', async () => {
    const choice = await chooseBackend('auto', (specifier) =>
      specifier === '@tensorflow/tfjs-node-gpu' ? Promise.resolve(fakeNativeTensorflow()) : import(specifier),
    )
    expect(choice).toEqual({ backend: 'tensorflow-gpu', skipped: [] })
    expect(tf.getBackend()).toBe('tensorflow')
  })

  it('falls back to tfjs-node (module mocked), saying why the GPU package was skipped', async () => {
    const choice = await chooseBackend('auto', (specifier) =>
      specifier === '@tensorflow/tfjs-node-gpu'
        ? Promise.reject(new Error('libcudnn.so.8: cannot open shared object file'))
        : specifier === '@tensorflow/tfjs-node'
          ? Promise.resolve(fakeNativeTensorflow())
          : import(specifier),
    )
    expect(choice).toEqual({
      backend: 'tensorflow',
      skipped: [{ backend: 'tensorflow-gpu', reason: 'libcudnn.so.8: cannot open shared object file' }],
    })
  })

  it('uses wasm where neither native package is installed (this machine)', async () => {
    const choice = await chooseBackend('auto', (specifier) =>
      specifier.startsWith('@tensorflow/tfjs-node') ? notInstalled(specifier) : import(specifier),
    )
    expect(choice.backend).toBe('wasm')
    expect(choice.skipped.map((s) => s.reason)).toEqual(['not installed', 'not installed'])
    expect(tf.getBackend()).toBe('wasm')
  })

  it('honours an explicit choice, and refuses an unknown one by name', async () => {
    expect((await chooseBackend('cpu')).backend).toBe('cpu')
    await expect(chooseBackend('tpu' as never)).rejects.toThrow(
      /unknown backend tpu; choose one of tensorflow-gpu, tensorflow, wasm, cpu/,
    )
  })
})
