// verl console lines as real captured output has them: Ray prefixes, ANSI colours, progress bars, wrapped values.
import { describe, expect, it } from 'vitest'
import { parseConsoleLine, parseConsoleText, parseValue } from '../../main/data/external/verl-console'
import { parseTrainerState } from '../../main/data/external/trl'
import { inferMode } from '../../main/data/external/import-log'

describe('verl console values', () => {
  it('reads plain numbers, nan/inf and numpy-wrapped values', () => {
    expect(parseValue('0.5')).toBe(0.5)
    expect(parseValue('-1.25e-3')).toBe(-0.00125)
    expect(parseValue('3')).toBe(3)
    expect(parseValue('np.float64(0.75)')).toBe(0.75)
    expect(parseValue('np.int64(12)')).toBe(12)
    expect(parseValue('tensor(0.1250, device=cuda:0)')).toBe(0.125)
    expect(parseValue('nan')).toBeNaN()
    expect(parseValue('np.float64(nan)')).toBeNaN()
    expect(parseValue('inf')).toBe(Infinity)
    expect(parseValue('-inf')).toBe(-Infinity)
    expect(parseValue('abc')).toBeUndefined()
  })
})

describe('verl console lines', () => {
  const ansiLine =
    '\u001b[36m(TaskRunner pid=48211)\u001b[0m step:12 - critic/score/mean:np.float64(0.4375) - actor/pg_loss:-0.0213 - val-core/DigitalLearningGmbH/MATH-lighteval/reward/mean@1:0.62 - actor/kl_loss:nan - response_length/max:inf - actor/entropy:tensor(0.5, device="cuda:0")'

  it('strips the Ray tag and colours and reads every key:value', () => {
    expect(parseConsoleLine(ansiLine)).toEqual({
      step: 12,
      metrics: {
        'critic/score/mean': 0.4375,
        'actor/pg_loss': -0.0213,
        'val-core/DigitalLearningGmbH/MATH-lighteval/reward/mean@1': 0.62,
        'actor/kl_loss': NaN,
        'response_length/max': Infinity,
        'actor/entropy': 0.5,
      },
    })
  })

  it('ignores unrelated lines and keeps only what a progress bar leaves on screen', () => {
    expect(parseConsoleLine('(TaskRunner pid=1) INFO 05-01 vLLM engine started')).toBeUndefined()
    expect(parseConsoleLine('Training Progress:  40%|####      | 4/10 [00:10<00:15]')).toBeUndefined()
    expect(parseConsoleLine('Training Progress:  40%|####  | 4/10\rstep:4 - critic/score/mean:0.25')).toEqual({
      step: 4,
      metrics: { 'critic/score/mean': 0.25 },
    })
  })

  it('reads only complete lines: an unterminated last line waits', () => {
    const text = 'noise\nstep:1 - a:1\nstep:2 - a:2\nstep:3 - a:'
    const parsed = parseConsoleText(text)
    expect(parsed.steps.map((s) => [s.step, s.line])).toEqual([
      [1, 2],
      [2, 3],
    ])
    expect(parsed.consumedChars).toBe(text.lastIndexOf('\n') + 1)
  })
})

describe('TRL trainer_state.json', () => {
  it('maps the GRPO keys that mean the same thing, keeps the others, and reads bare NaN', () => {
    const state = `{"global_step": 2, "log_history": [
      {"step": 1, "epoch": 0.1, "loss": 0.01, "reward": 0.25, "reward_std": 0.4, "kl": NaN, "completions/mean_length": 120.5,
       "completions/clipped_ratio": 0.0, "learning_rate": 1e-6, "grad_norm": 0.3, "rewards/accuracy_reward/mean": 0.25, "num_tokens": 4096},
      {"step": 2, "reward": 0.5, "entropy": 0.9, "clip_ratio/region_mean": 0.02, "num_tokens": 8192},
      {"step": 2, "eval_loss": Infinity, "eval_reward": 0.4}
    ]}`
    expect(parseTrainerState(state, 'trainer_state.json')).toEqual([
      {
        step: 1,
        tokens: 4096,
        metrics: {
          loss: 0.01,
          'critic/score/mean': 0.25,
          'critic/score/std': 0.4,
          'actor/kl_loss': NaN,
          'response_length/mean': 120.5,
          'response_length/clip_ratio': 0,
          'actor/lr': 1e-6,
          'actor/grad_norm': 0.3,
          'rewards/accuracy_reward/mean': 0.25,
        },
      },
      {
        step: 2,
        tokens: 8192,
        metrics: {
          'critic/score/mean': 0.5,
          'actor/entropy': 0.9,
          'actor/pg_clipfrac': 0.02,
          eval_loss: Infinity,
          eval_reward: 0.4,
        },
      },
    ])
  })

  it('names what is wrong with a file that is not a trainer state', () => {
    expect(() => parseTrainerState('{"a": 1}', 'x.json')).toThrow('x.json: no "log_history" list')
    expect(() => parseTrainerState('{"log_history": [{"loss": 1}]}', 'x.json')).toThrow(
      'x.json: log_history[0]: field "step" should be a whole number',
    )
  })
})

describe('the reward mode of an imported run', () => {
  it('is read from the keys each mode logs', () => {
    expect(inferMode(['critic/score/mean', 'critic/score_aug/mean'])).toBe('co_rewarding_i')
    expect(inferMode(['critic/score/mean', 'timing_s/gen_ref'])).toBe('co_rewarding_ii')
    expect(inferMode(['critic/score/mean', 'coreward/pseudo_acc'])).toBe('majority_voting')
    expect(inferMode(['critic/score/mean'])).toBe('ground_truth')
  })
})
