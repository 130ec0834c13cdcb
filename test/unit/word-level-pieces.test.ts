import { describe, expect, it } from 'vitest'
import { detokenize, pretokenize, SPACE } from '../../main/engine/tokenizer/word-level'

describe("the demo tokenizer's pieces", () => {
  it('keeps words with their leading space, and isolates numbers, \\boxed{ and punctuation', () => {
    expect(pretokenize('Tom has 12 apples.')).toEqual([`${SPACE}Tom`, `${SPACE}has`, `${SPACE}12`, `${SPACE}apples`, '.'])
    expect(pretokenize('So \\boxed{8}.')).toEqual([`${SPACE}So`, `${SPACE}\\boxed{`, '8', '}', '.'])
    expect(pretokenize('3 + 5 = 8')).toEqual([`${SPACE}3`, `${SPACE}+`, `${SPACE}5`, `${SPACE}=`, `${SPACE}8`])
    expect(pretokenize('x=5, (3)')).toEqual([`${SPACE}x`, '=', '5', ',', `${SPACE}(`, '3', ')'])
  })

  it('round-trips any text exactly, double spaces included', () => {
    for (const text of ['Tom has 12 apples. He buys 5 more.', 'a  b', ' lead', 'end ', '\\boxed{12}{3}', '']) {
      expect(detokenize(pretokenize(text))).toBe(text)
    }
  })
})
