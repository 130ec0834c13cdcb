// The study's plan (`cwb demo --study`): every mode x seeds with the same shared settings on the test split, the
// paper's three ablations as config changes the schema takes, and an id that the same options always give.
import { describe, expect, it } from 'vitest'
import { bandChartSvg } from '../../main/demo/study-charts'
import { STUDY_DEFAULTS } from '../../main/demo/study-defaults'
import { jobConfig, newStudyPlan, studyCommand, studyId, studyModes } from '../../main/demo/study-plan'
import type { StudyOptions } from '../../main/demo/study-plan'
import { rewardModeIds } from '../../main/engine/rewards'

const defaults: StudyOptions = { modes: rewardModeIds(), ...STUDY_DEFAULTS }

describe('the study plan', () => {
  const plan = newStudyPlan(defaults)

  it('runs every mode at 3 seeds and each of the three ablations at 2, 100 steps each', () => {
    const count = (group: string): number => plan.jobs.filter((j) => j.group === group).length
    for (const mode of rewardModeIds()) expect(count(mode)).toBe(3)
    expect(count('majority_voting-paraphrase')).toBe(2)
    expect(count('co_rewarding_ii-frozen-teacher')).toBe(2)
    expect(count('co_rewarding_i-own-vote')).toBe(2)
    expect(plan.jobs).toHaveLength(6 * 3 + 3 * 2)
    expect(new Set(plan.jobs.map((j) => j.config.name)).size).toBe(plan.jobs.length)
  })

  it('gives every run the same shared settings, validated on 100 test questions every 20 steps', () => {
    const configs = plan.jobs.map((job) => {
      const parsed = jobConfig(job)
      if ('problem' in parsed) throw new Error(parsed.problem)
      return parsed.config
    })
    for (const config of configs) {
      expect(config.steps).toBe(100)
      expect(config.validation_split).toBe('test')
      expect(config.validation).toEqual({ every: 20, questions: 100 })
      expect(config.learning_rate).toBe(configs[0]!.learning_rate)
      expect(config.temperature).toBe(1)
      expect(config.batch_size).toBe(8)
      expect(config.rollouts).toBe(8)
      expect(20 % config.checkpoint_every).toBe(0)
    }
  })

  it('changes one thing per ablation: the rephrased questions, the frozen teacher, each view its own vote', () => {
    const config = (group: string): Record<string, unknown> => plan.jobs.find((j) => j.group === group)!.config
    expect(config('majority_voting-paraphrase')).toMatchObject({ mode: 'majority_voting', question_view: 'paraphrase' })
    expect(config('co_rewarding_ii-frozen-teacher')).toMatchObject({ mode: 'co_rewarding_ii', ema: { enabled: false } })
    expect(config('co_rewarding_i-own-vote')).toMatchObject({ mode: 'co_rewarding_i', cross_view: false })
    expect(config('co_rewarding_ii')).toMatchObject({ ema: { enabled: true } })
  })

  it('has an id the same options always give, and another for other options or another base model', () => {
    expect(newStudyPlan(defaults).id).toBe(plan.id)
    expect(studyId({ ...defaults, steps: 20 }, plan.baseModel.sha256)).not.toBe(plan.id)
    expect(studyId(defaults, 'another model')).not.toBe(plan.id)
  })

  it('names its command with the options that differ from the defaults', () => {
    expect(studyCommand(defaults)).toBe('cwb demo --study --seeds 3 --steps 100')
    expect(studyCommand({ ...defaults, modes: studyModes('majority_voting,ground_truth'), ablationSeeds: 0 })).toBe(
      'cwb demo --study --seeds 3 --steps 100 --modes ground_truth,majority_voting --ablation-seeds 0',
    )
    expect(() => studyModes('ground_truth,nope')).toThrow(/"nope" is not a reward mode/)
  })

  it("leaves a job whose config this version's schema refuses to be skipped, with the schema's reason", () => {
    const job = plan.jobs.find((j) => j.group === 'co_rewarding_i-own-vote')!
    expect(jobConfig({ ...job, config: { ...job.config, no_such_key: true } })).toEqual({
      problem: expect.stringMatching(/^co_rewarding_i-own-vote\/seed1: .*no_such_key/),
    })
  })

  it('skips the ablations with --ablation-seeds 0, and runs them at no more seeds than the modes', () => {
    expect(newStudyPlan({ ...defaults, ablationSeeds: 0 }).jobs).toHaveLength(18)
    expect(newStudyPlan({ ...defaults, seeds: 1 }).jobs).toHaveLength(9)
  })
})

describe('a study chart', () => {
  it('is an SVG with each group in the legend, its mean line and its min-max band', () => {
    const svg = bandChartSvg({
      title: 'Held-out accuracy',
      yName: 'pass@1',
      share: true,
      steps: 40,
      series: [
        {
          label: 'Ground truth',
          colour: '#343a40',
          points: [
            { step: 0, mean: 0.3, min: 0.28, max: 0.32 },
            { step: 20, mean: 0.4, min: 0.35, max: 0.45 },
            { step: 40, mean: 0.5, min: 0.45, max: 0.55 },
          ],
        },
        { label: 'Majority voting', colour: '#e8590c', dashed: true, points: [{ step: 0, mean: 0.3, min: 0.3, max: 0.3 }] },
      ],
    })
    expect(svg).toMatch(/^<svg[^>]*width="760"/)
    expect(svg).toContain('Held-out accuracy')
    expect(svg).toContain('Ground truth')
    expect(svg).toContain('Majority voting')
    expect(svg).toContain('100%')
    // The mean line in the mode's colour, and the band filled in it, translucent.
    expect(svg).toMatch(/stroke="#343a40"/)
    expect(svg).toMatch(/fill="#343a40"[^>]*fill-opacity="0\.15"|fill-opacity="0\.15"[^>]*fill="#343a40"/)
  })

  it("draws the band from the minimum to the maximum when the values are negative (the entropy mode's reward)", () => {
    const svg = bandChartSvg({
      title: 'Training reward',
      yName: 'reward',
      share: false,
      steps: 10,
      series: [
        {
          label: 'Entropy',
          colour: '#7048e8',
          points: [
            { step: 0, mean: -0.4, min: -0.5, max: -0.3 },
            { step: 10, mean: -0.6, min: -0.7, max: -0.5 },
          ],
        },
      ],
    })
    const ys = (path: string): number[] => [...path.matchAll(/[ML]([\d.-]+) ([\d.-]+)/g)].map((m) => Number(m[2]))
    const area = /<path d="([^"]+)"[^>]*fill="#7048e8" fill-opacity="0.15"/.exec(svg)![1]!
    const line = /<path d="([^"]+)" fill="none"[^>]*stroke="#7048e8"/.exec(svg)![1]!
    // The mean line runs inside the band at both steps (SVG's y grows downwards).
    const [top0, top10, bottom10, bottom0] = ys(area)
    const [mean0, mean10] = ys(line)
    expect(mean0).toBeGreaterThan(top0!)
    expect(mean0).toBeLessThan(bottom0!)
    expect(mean10).toBeGreaterThan(top10!)
    expect(mean10).toBeLessThan(bottom10!)
  })
})
