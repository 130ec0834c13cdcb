import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultRunConfig, klCoefficient, parseRunConfig, runConfigJsonSchema } from '../../main/engine/run-config'
import { root } from '../helpers/cli'

describe('the run config', () => {
  it('has its JSON Schema in the repository, up to date (regenerate: cwb train --print-schema > resources/run-config.schema.json)', () => {
    const committed = JSON.parse(readFileSync(join(root, 'resources/run-config.schema.json'), 'utf8')) as object
    expect(committed).toEqual(runConfigJsonSchema())
  })

  it('defaults to the reference settings, scaled for the demo model', () => {
    const config = parseRunConfig({ name: 'x', mode: 'co_rewarding_i' }, 'run.json')
    expect(config).toMatchObject({
      rollouts: 8,
      temperature: 1,
      top_p: 1,
      clip_ratio_low: 0.2,
      clip_ratio_high: 0.2,
      dual_clip: 3,
      grad_clip: 1,
    })
    expect(config).toMatchObject({ weight_decay: 0.01, adam_betas: [0.9, 0.999], warmup_fraction: 0.1, mini_batches: 1 })
    expect(klCoefficient(config)).toBe(0.005)
    expect(klCoefficient(parseRunConfig({ name: 'x', mode: 'co_rewarding_ii' }, 'run.json'))).toBe(0.001)
    expect(klCoefficient(parseRunConfig({ name: 'x', mode: 'entropy', kl: { coef: 0.02 } }, 'run.json'))).toBe(0.02)
    expect(defaultRunConfig('co_rewarding_ii').ema).toEqual({
      enabled: true,
      alpha_start: 0.01,
      alpha_end: 1e-5,
      update_interval: 1,
      teacher_view: 'original',
    })
  })

  it('refuses bad values, naming the file, the field and the reason', () => {
    expect(() => parseRunConfig({ name: 'x', mode: 'ground_truth', rollouts: 1 }, 'run.json')).toThrow(
      /^run\.json: rollouts: must be at least 2$/,
    )
    expect(() => parseRunConfig({ name: 'x', mode: 'ground_truth', temperature: -1 }, 'run.json')).toThrow(
      /^run\.json: temperature: /,
    )
    expect(() => parseRunConfig({ name: 'x', mode: 'ground_truth', validation: { every: 0 } }, 'run.json')).toThrow(
      /^run\.json: validation\.every: /,
    )
    expect(() => parseRunConfig({ name: 'x', mode: 'ground_truth', lerning_rate: 1 }, 'run.json')).toThrow(/lerning_rate/)
    expect(() => parseRunConfig({ mode: 'ground_truth' }, 'run.json')).toThrow(/^run\.json: name: /)
    expect(() => parseRunConfig({ name: 'x', mode: 'ground_truth', ema: {} }, 'run.json')).toThrow(
      /only co_rewarding_ii has an EMA teacher/,
    )
    expect(() => parseRunConfig('nope', 'run.json')).toThrow(/^run\.json: \(config\): /)
  })
})
