// CWB_THREADS (set by `cwb train --threads N` and `cwb demo`) caps onnxruntime's threads, so runs can share the
// machine; unset, onnxruntime is given every physical core by number. Parsing, the session options, counting cores,
// real sessions opened and run under the cap and without it (same logits, same gradients), and the CLI's refusal.
import { availableParallelism } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { demoModelConfig } from '../../main/demo/base-model'
import { Transformer } from '../../main/engine/model/transformer'
import { OnnxModel } from '../../main/engine/onnx/session'
import { OnnxTrainingGraph } from '../../main/engine/onnx/train-graph'
import { nllTrainingBatch } from '../../main/engine/trainer/grpo'
import { Random } from '../../main/random'
import {
  ONE_THREAD_DECODE_PARAMETERS,
  decodeSessionThreads,
  defaultThreads,
  engineThreads,
  physicalCores,
  sessionThreads,
} from '../../main/engine/threads'
import { cwb } from '../helpers/cli'

const saved = process.env.CWB_THREADS
afterEach(() => {
  if (saved === undefined) delete process.env.CWB_THREADS
  else process.env.CWB_THREADS = saved
})

describe('CWB_THREADS', () => {
  it('is unset (every core), a whole number of at least 1, or refused naming itself', () => {
    expect(engineThreads({})).toBeUndefined()
    expect(engineThreads({ CWB_THREADS: ' ' })).toBeUndefined()
    expect(engineThreads({ CWB_THREADS: '2' })).toBe(2)
    for (const bad of ['0', '-1', '1.5', 'two'])
      expect(() => engineThreads({ CWB_THREADS: bad })).toThrow(`CWB_THREADS=${bad} is not a whole number of at least 1`)
    expect(sessionThreads({ CWB_THREADS: '1' })).toEqual({ intraOpNumThreads: 1, interOpNumThreads: 1 })
  })

  it('unset, gives onnxruntime every physical core by number, never its own default', () => {
    expect(sessionThreads({})).toEqual({ intraOpNumThreads: defaultThreads(), interOpNumThreads: 1 })
    expect(defaultThreads()).toBeGreaterThanOrEqual(1)
    expect(defaultThreads()).toBeLessThanOrEqual(availableParallelism())
  })

  it('opens the decode graph of a tiny model on one thread, of a larger one as every other session', () => {
    const one = { intraOpNumThreads: 1, interOpNumThreads: 1 }
    expect(decodeSessionThreads(893_056, {})).toEqual(one) // the demo model
    expect(decodeSessionThreads(ONE_THREAD_DECODE_PARAMETERS - 1, { CWB_THREADS: '2' })).toEqual(one)
    expect(decodeSessionThreads(ONE_THREAD_DECODE_PARAMETERS, {})).toEqual(sessionThreads({}))
    expect(decodeSessionThreads(596_049_920, { CWB_THREADS: '3' })).toEqual({ intraOpNumThreads: 3, interOpNumThreads: 1 })
  })

  it('counts physical cores in /proc/cpuinfo: SMT siblings once, each socket apart', () => {
    const cpu = (processor: number, socket: number, core: number): string =>
      `processor\t: ${processor}\nmodel name\t: test\nphysical id\t: ${socket}\nsiblings\t: 4\ncore id\t\t: ${core}\ncpu cores\t: 2\n`
    // Two cores, each with two hardware threads.
    expect(physicalCores([cpu(0, 0, 0), cpu(1, 0, 1), cpu(2, 0, 0), cpu(3, 0, 1)].join('\n'))).toBe(2)
    // Two sockets whose cores reuse the same ids.
    expect(physicalCores([cpu(0, 0, 0), cpu(1, 0, 1), cpu(2, 1, 0), cpu(3, 1, 1)].join('\n'))).toBe(4)
    // This kind of machine: two cores, one thread each.
    expect(physicalCores([cpu(0, 0, 0), cpu(1, 0, 1)].join('\n'))).toBe(2)
    // A text without core ids (some virtual machines, other architectures) says nothing.
    expect(physicalCores('processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n')).toBeUndefined()
  })

  it('opens and runs a real onnxruntime session under the cap, with the same logits as without it', async () => {
    delete process.env.CWB_THREADS // npm test caps its processes at one thread: this session takes the default
    const model = Transformer.initialise(demoModelConfig(40), 3)
    const ids = Int32Array.from([1, 2, 3, 4])
    const mask = Int32Array.from([1, 1, 1, 1])
    const free = await OnnxModel.ofTransformer(model)
    const expected = await free.logits(ids, mask, 1, 4)
    await free.release()
    process.env.CWB_THREADS = '1'
    const capped = await OnnxModel.ofTransformer(model)
    expect(await capped.logits(ids, mask, 1, 4)).toEqual(expected)
    await capped.release()
    model.dispose()
  })

  it('gives the same gradients on 1 thread as on 2: the update does not depend on the thread count', async () => {
    // Enough work that onnxruntime splits its kernels across both threads (16 rows of 60 tokens, the demo's width).
    const config = demoModelConfig(300)
    const model = Transformer.initialise(config, 5)
    const random = new Random(11)
    const ids = (n: number): number[] => Array.from({ length: n }, () => 3 + random.int(297))
    const rows = Array.from({ length: 16 }, (_, r) => ({ prompt: ids(20 + (r % 5)), response: ids(40 - (r % 7)) }))
    const gradients = async (threads: string): Promise<Record<string, Float32Array>> => {
      process.env.CWB_THREADS = threads
      const graph = await OnnxTrainingGraph.create(config, 'nll')
      const { grads } = await graph.run(model.toArrays(), nllTrainingBatch(rows, 0))
      await graph.release()
      return grads
    }
    const one = await gradients('1')
    const two = await gradients('2')
    expect(Object.keys(two).sort()).toEqual(Object.keys(one).sort())
    for (const name of Object.keys(one)) expect(two[name], name).toEqual(one[name])
    model.dispose()
  })

  it('cwb train --threads refuses anything but a whole number of at least 1', () => {
    const result = cwb(['train', '--threads', '0', '--print-config', 'entropy'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--threads/)
  })
})
