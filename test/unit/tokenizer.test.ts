import { describe, expect, it } from 'vitest'
import { loadTokenizer, wordLevelTokenizerJson } from '../../main/engine/tokenizer/tokenizer'
import { pretokenize } from '../../main/engine/tokenizer/word-level'

const specials = ['<pad>', '<s>', '</s>', '<unk>', '<|system|>', '<|user|>', '<|assistant|>']
const corpus = ['Tom has 12 apples. He buys 5 more.', '12 + 5 = 17. The answer is \\boxed{17}.', 'Solve it step by step.']
const pieces = [...new Set(corpus.flatMap(pretokenize))]
const config = {
  bos_token: '<s>',
  eos_token: '</s>',
  pad_token: '<pad>',
  chat_template:
    '{{ bos_token }}{% for message in messages %}{{ "<|" + message.role + "|>" }}{{ message.content }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}',
}

describe('the word-level tokenizer (tokenizer.json model WordLevel)', () => {
  const tokenizer = loadTokenizer(wordLevelTokenizerJson(pieces, specials), config, 'demo-model')

  it('encodes known text to one id per piece and decodes it back exactly', () => {
    const text = 'Tom has 12 apples. He buys 5 more.'
    const ids = tokenizer.encode(text)
    expect(ids).toHaveLength(pretokenize(text).length)
    expect(tokenizer.decode(ids)).toBe(text)
    expect(tokenizer.decode(tokenizer.encode('12 + 5 = 17. The answer is \\boxed{17}.'))).toBe(
      '12 + 5 = 17. The answer is \\boxed{17}.',
    )
  })

  it('maps unknown pieces to <unk> and knows its special ids', () => {
    expect(tokenizer.encode('Tom has 99 pears.')).toContain(3)
    expect([tokenizer.padTokenId, tokenizer.bosTokenId, tokenizer.eosTokenId]).toEqual([0, 1, 2])
    expect(tokenizer.vocabSize).toBe(specials.length + pieces.length)
  })

  it('renders the chat template with special tokens kept whole, and leaves them out when decoding', () => {
    const prompt = tokenizer.chatPrompt([
      { role: 'system', content: 'Solve it step by step.' },
      { role: 'user', content: 'Tom has 12 apples.' },
    ])
    expect(prompt.slice(0, 2)).toEqual([1, 4])
    expect(prompt.at(-1)).toBe(6)
    expect(prompt).toContain(5)
    expect(tokenizer.decode(prompt)).toBe('Solve it step by step. Tom has 12 apples.')
  })

  it('names the file and the token when a special token is missing from the vocabulary', () => {
    expect(() => loadTokenizer(wordLevelTokenizerJson(pieces, ['<pad>']), config, 'demo-model')).toThrow(
      'demo-model/tokenizer.json: eos_token "</s>" is not in the vocabulary',
    )
  })
})

describe('BPE tokenizers through @huggingface/tokenizers', () => {
  const bpe = {
    model: {
      type: 'BPE',
      vocab: { '<s>': 0, '</s>': 1, a: 2, b: 3, c: 4, ab: 5, abc: 6, ' ': 7 },
      merges: ['a b', 'ab c'],
      unk_token: null,
    },
    added_tokens: [
      { id: 0, content: '<s>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false },
      { id: 1, content: '</s>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
  }

  it('applies the merges', () => {
    const tokenizer = loadTokenizer(bpe, { eos_token: '</s>', bos_token: '<s>' }, 'bpe-model')
    expect(tokenizer.encode('abc ab c')).toEqual([6, 5, 4])
    expect(tokenizer.eosTokenId).toBe(1)
  })
})
