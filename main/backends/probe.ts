// Finds which compute backends load on this machine, and for each one that does not, why.
// tfjs: tensorflow-gpu (@tensorflow/tfjs-node-gpu), tensorflow (@tensorflow/tfjs-node), wasm, cpu, in the
// engine's order of preference; onnxruntime-node: its execution providers (cpu, cuda).
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Backend } from '../../preload/contract'

export type Importer = (specifier: string) => Promise<unknown>

interface TfLike {
  setBackend(name: string): Promise<boolean>
  ready(): Promise<void>
  getBackend(): string
  tensor1d(values: number[]): { add(other: unknown): { dataSync(): ArrayLike<number>; dispose(): void }; dispose(): void }
  env(): { set(flag: string, value: unknown): void }
}

interface OrtLike {
  listSupportedBackends(): { name: string; bundled: boolean }[]
}

const INSTALL_HINT: Record<string, string> = {
  '@tensorflow/tfjs-node-gpu': 'run `npm run setup:gpu` on a machine with CUDA 11.2 + cuDNN 8.1',
  '@tensorflow/tfjs-node': 'optional CPU accelerator: `npm install --no-save @tensorflow/tfjs-node`',
}

/** The first line of an error, without the stack: what a person needs to see in a status bar. */
export function reasonOf(error: unknown): string {
  const err = error as NodeJS.ErrnoException
  if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') return 'not installed'
  return String(err?.message ?? error).split('\n')[0] ?? 'unknown error'
}

async function smokeTest(tf: TfLike, backend: string): Promise<string> {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`)
  await tf.ready()
  const a = tf.tensor1d([1, 2])
  const sum = a.add(a)
  const values = Array.from(sum.dataSync())
  a.dispose()
  sum.dispose()
  if (values[0] !== 2 || values[1] !== 4) throw new Error(`a test addition gave ${values.join(',')}`)
  return tf.getBackend()
}

async function probeNativeTf(importer: Importer, pkg: string, name: string): Promise<Backend> {
  try {
    const tf = (await importer(pkg)) as TfLike
    await smokeTest(tf, 'tensorflow')
    return { family: 'tfjs', name, available: true, detail: `${pkg} loaded` }
  } catch (error) {
    const reason = reasonOf(error)
    const hint =
      reason === 'not installed' ? `${pkg} is not installed (${INSTALL_HINT[pkg]})` : `${pkg} failed to load: ${reason}`
    return { family: 'tfjs', name, available: false, detail: hint }
  }
}

async function probeJsTf(importer: Importer, name: 'wasm' | 'cpu'): Promise<Backend> {
  try {
    const tf = (await importer('@tensorflow/tfjs')) as TfLike
    tf.env().set('IS_TEST', true) // silences tfjs's "install the node backend" banner
    if (name === 'wasm') await importer('@tensorflow/tfjs-backend-wasm')
    await smokeTest(tf, name)
    const detail =
      name === 'wasm'
        ? 'WebAssembly + SIMD, one thread: the CPU default'
        : 'pure JavaScript, about 50x slower than wasm: last resort'
    return { family: 'tfjs', name, available: true, detail }
  } catch (error) {
    return { family: 'tfjs', name, available: false, detail: reasonOf(error) }
  }
}

async function probeOnnxruntime(importer: Importer, resolveFile: (specifier: string) => string): Promise<Backend[]> {
  let ort: OrtLike
  try {
    ort = (await importer('onnxruntime-node')) as OrtLike
  } catch (error) {
    const detail = `onnxruntime-node failed to load: ${reasonOf(error)}`
    return [
      { family: 'onnxruntime', name: 'cpu', available: false, detail },
      { family: 'onnxruntime', name: 'cuda', available: false, detail },
    ]
  }
  const listed = ort.listSupportedBackends()
  const has = (name: string): { name: string; bundled: boolean } | undefined => listed.find((b) => b.name === name)
  const cpu: Backend = has('cpu')
    ? { family: 'onnxruntime', name: 'cpu', available: true, detail: 'onnxruntime-node CPU execution provider' }
    : { family: 'onnxruntime', name: 'cpu', available: false, detail: 'onnxruntime-node lists no CPU provider' }
  const cuda = has('cuda')
  let cudaBackend: Backend
  if (!cuda) {
    cudaBackend = {
      family: 'onnxruntime',
      name: 'cuda',
      available: false,
      detail: `no CUDA provider for ${process.platform}/${process.arch}`,
    }
  } else {
    const bindingDir = join(
      dirname(resolveFile('onnxruntime-node/package.json')),
      'bin',
      'napi-v6',
      process.platform,
      process.arch,
    )
    const installed = cuda.bundled || existsSync(join(bindingDir, 'libonnxruntime_providers_cuda.so'))
    cudaBackend = installed
      ? { family: 'onnxruntime', name: 'cuda', available: true, detail: 'CUDA 12 execution provider installed' }
      : {
          family: 'onnxruntime',
          name: 'cuda',
          available: false,
          detail: 'CUDA 12 provider not installed (run `npm run setup:gpu` on a machine with CUDA 12 + cuDNN 9)',
        }
  }
  return [cpu, cudaBackend]
}

export interface ProbeOptions {
  importer?: Importer
  resolveFile?: (specifier: string) => string
}

export async function probeBackends(options: ProbeOptions = {}): Promise<Backend[]> {
  const importer = options.importer ?? ((specifier: string) => import(/* @vite-ignore */ specifier))
  const resolveFile = options.resolveFile ?? ((specifier: string) => import.meta.resolve(specifier).replace(/^file:\/\//, ''))
  const tfjs = [
    await probeNativeTf(importer, '@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'),
    await probeNativeTf(importer, '@tensorflow/tfjs-node', 'tensorflow'),
    await probeJsTf(importer, 'wasm'),
    await probeJsTf(importer, 'cpu'),
  ]
  return [...tfjs, ...(await probeOnnxruntime(importer, resolveFile))]
}

/** The engine's pick: the first available tfjs backend in order of preference. */
export function preferredTfBackend(backends: Backend[]): Backend | undefined {
  return backends.find((b) => b.family === 'tfjs' && b.available)
}
