// CWB_THREADS (set by `cwb train --threads N` and `cwb demo`) caps onnxruntime's threads, so runs can share the
// machine: parsing, the session options, a real session opened and run under the cap, and the CLI's refusal.
import { afterEach, describe, expect, it } from 'vitest'
import { demoModelConfig } from '../../main/demo/base-model'
import { Transformer } from '../../main/engine/model/transformer'
import { OnnxModel } from '../../main/engine/onnx/session'
import { engineThreads, sessionThreads } from '../../main/engine/threads'
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
    expect(sessionThreads({})).toEqual({})
    expect(sessionThreads({ CWB_THREADS: '1' })).toEqual({ intraOpNumThreads: 1, interOpNumThreads: 1 })
  })

  it('opens and runs a real onnxruntime session under the cap, with the same logits as without it', async () => {
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

  it('cwb train --threads refuses anything but a whole number of at least 1', () => {
    const result = cwb(['train', '--threads', '0', '--print-config', 'entropy'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--threads/)
  })
})
