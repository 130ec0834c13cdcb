// A tiny checkpoint with the demo tokenizer, written through the engine's own save path, for fast tests.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { demoModelConfig, demoTokenizerFiles } from '../../main/demo/base-model'
import { parseModelConfig, type ModelConfig } from '../../main/engine/model/config'
import { saveModel } from '../../main/engine/model/load'
import { Transformer } from '../../main/engine/model/transformer'
import { loadTokenizer } from '../../main/engine/tokenizer/tokenizer'
import type { Tokenizer } from '../../main/engine/tokenizer/tokenizer'

/** The demo tokenizer and the one-layer model config every tiny checkpoint is built on. */
export function tinyModel(): { tokenizer: Tokenizer; config: ModelConfig } {
  const files = demoTokenizerFiles()
  const tokenizer = loadTokenizer(files.tokenizer, files.tokenizerConfig, 'demo')
  const config = demoModelConfig(tokenizer.vocabSize, { hiddenSize: 16, layers: 1, heads: 2, positions: 'rotary' })
  return { tokenizer, config }
}

/** Saves `transformer` to `dir` as a checkpoint with the demo tokenizer, then frees it. */
export function saveTinyModel(dir: string, config: ModelConfig, transformer: Transformer): void {
  const files = demoTokenizerFiles()
  saveModel(dir, {
    config,
    transformer,
    tokenizerFiles: { tokenizer: files.tokenizer as Record<string, unknown>, tokenizerConfig: files.tokenizerConfig },
  })
  transformer.dispose()
}

export function writeTinyCheckpoint(dir: string, seed = 1): void {
  const { config } = tinyModel()
  saveTinyModel(dir, config, Transformer.initialise(config, seed))
}

/** A run config that trains the tiny checkpoint at `checkpoint` in seconds; `overrides` changes any field. */
export function tinyRunConfig(
  name: string,
  checkpoint: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    mode: 'ground_truth',
    checkpoint,
    steps: 3,
    batch_size: 2,
    rollouts: 4,
    max_response_tokens: 8,
    validation: { every: 2, questions: 4 },
    checkpoint_every: 2,
    micro_batch_size: 8,
    ...overrides,
  }
}

/** Writes a tiny checkpoint to `dir`/tiny and a run config of it (tinyRunConfig) to `dir`/run.json; returns that file. */
export function writeTinyRun(dir: string, name: string, overrides: Record<string, unknown> = {}): string {
  writeTinyCheckpoint(join(dir, 'tiny'))
  const config = join(dir, 'run.json')
  writeFileSync(config, JSON.stringify(tinyRunConfig(name, join(dir, 'tiny'), overrides)))
  return config
}

/** A small model config for engine tests; `overrides` changes any field. */
export function tinyConfig(overrides: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig(
    {
      model_type: 'cwb-gpt',
      vocab_size: 40,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
      max_position_embeddings: 32,
      position_embedding_type: 'learned',
      bos_token_id: 1,
      eos_token_id: 2,
      pad_token_id: 0,
      ...overrides,
    },
    'test config',
  )
}
