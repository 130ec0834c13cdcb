// The model families the engine runs, one module each behind one interface: `traits` says what sets the family apart
// on the shared decoder (decoder.ts). The workbench's own `cwb-gpt` is listed first; it has its own model (transformer.ts).
import { MODEL_TYPE as CWB_GPT } from '../config'
import { ConfigReader, readDecoderConfig } from './decoder-config'
import type { DecoderConfig, FamilyTraits } from './decoder-config'
import * as llama from './llama'
import * as qwen2 from './qwen2'
import * as qwen3 from './qwen3'

export interface Family {
  modelType: string
  traits(config: ConfigReader): FamilyTraits
}

export const HF_FAMILIES: readonly Family[] = [qwen2, qwen3, llama]
export const ALL_MODEL_TYPES: readonly string[] = [CWB_GPT, ...HF_FAMILIES.map((family) => family.modelType)]

/** The decoder settings of a Hugging Face config.json object; `source` names the file in errors. */
export function parseDecoderConfig(raw: Record<string, unknown>, source: string): DecoderConfig {
  const family = HF_FAMILIES.find((f) => f.modelType === raw.model_type)
  if (!family) {
    throw new Error(
      `${source}: model_type ${JSON.stringify(raw.model_type)} is not supported by this engine; supported: ${ALL_MODEL_TYPES.join(', ')}`,
    )
  }
  const config = new ConfigReader(raw, source)
  return readDecoderConfig(config, family.traits(config))
}
