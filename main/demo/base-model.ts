// The demo model: its tokenizer (word/number-level over the demo task's vocabulary), chat template,
// system prompt and architecture. `cwb pretrain` trains it; resources/base-model ships the result.
import { demoVocabularyPieces } from '../data/demo'
import { parseModelConfig } from '../engine/model/config'
import type { ModelConfig } from '../engine/model/config'
import { wordLevelTokenizerJson } from '../engine/tokenizer/tokenizer'
import type { TokenizerConfig } from '../engine/tokenizer/tokenizer'

export const DEMO_SPECIAL_TOKENS = ['<pad>', '<s>', '</s>', '<unk>', '<|system|>', '<|user|>', '<|assistant|>']
export const DEMO_CHAT_TEMPLATE =
  '{{ bos_token }}{% for message in messages %}{{ "<|" + message.role + "|>" }}{{ message.content }}{% endfor %}' +
  '{% if add_generation_prompt %}<|assistant|>{% endif %}'

/** Demo prompts are at most 48 tokens and responses at most 32 (end token included). */
export const DEMO_MAX_PROMPT_TOKENS = 48
export const DEMO_MAX_RESPONSE_TOKENS = 32

export function demoTokenizerFiles(): { tokenizer: object; tokenizerConfig: TokenizerConfig } {
  return {
    tokenizer: wordLevelTokenizerJson(demoVocabularyPieces(), DEMO_SPECIAL_TOKENS),
    tokenizerConfig: {
      bos_token: '<s>',
      eos_token: '</s>',
      pad_token: '<pad>',
      unk_token: '<unk>',
      chat_template: DEMO_CHAT_TEMPLATE,
      model_max_length: DEMO_MAX_PROMPT_TOKENS + DEMO_MAX_RESPONSE_TOKENS,
    },
  }
}

export interface DemoArchitecture {
  hiddenSize: number
  layers: number
  heads: number
  positions: 'learned' | 'rotary'
}

export const DEMO_ARCHITECTURE: DemoArchitecture = { hiddenSize: 128, layers: 4, heads: 4, positions: 'learned' }

export function demoModelConfig(vocabSize: number, architecture: DemoArchitecture = DEMO_ARCHITECTURE): ModelConfig {
  return parseModelConfig(
    {
      model_type: 'cwb-gpt',
      vocab_size: vocabSize,
      hidden_size: architecture.hiddenSize,
      num_hidden_layers: architecture.layers,
      num_attention_heads: architecture.heads,
      intermediate_size: 4 * architecture.hiddenSize,
      max_position_embeddings: DEMO_MAX_PROMPT_TOKENS + DEMO_MAX_RESPONSE_TOKENS,
      position_embedding_type: architecture.positions,
      bos_token_id: DEMO_SPECIAL_TOKENS.indexOf('<s>'),
      eos_token_id: DEMO_SPECIAL_TOKENS.indexOf('</s>'),
      pad_token_id: DEMO_SPECIAL_TOKENS.indexOf('<pad>'),
    },
    'demo model config',
  )
}
