// A tiny checkpoint with the demo tokenizer, written through the engine's own save path, for fast tests.
import { demoModelConfig, demoTokenizerFiles } from '../../main/engine/demo/base-model'
import { saveModel } from '../../main/engine/model/load'
import { Transformer } from '../../main/engine/model/transformer'
import { loadTokenizer } from '../../main/engine/tokenizer/tokenizer'

export function writeTinyCheckpoint(dir: string, seed = 1): void {
  const files = demoTokenizerFiles()
  const vocab = loadTokenizer(files.tokenizer, files.tokenizerConfig, 'demo').vocabSize
  const config = demoModelConfig(vocab, { hiddenSize: 16, layers: 1, heads: 2, positions: 'rotary' })
  const transformer = Transformer.initialise(config, seed)
  saveModel(dir, {
    config,
    transformer,
    tokenizerFiles: { tokenizer: files.tokenizer as Record<string, unknown>, tokenizerConfig: files.tokenizerConfig },
  })
  transformer.dispose()
}
