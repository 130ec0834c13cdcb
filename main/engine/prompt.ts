// The system message of every prompt (method doc section 1: a system message telling the model to think step by
// step and put the final answer in \boxed{}, then the user message with the question), rendered by the model's own
// chat template.
import { MODEL_TYPE } from './model/config'

/** The demo model's (cwb-gpt) system message: what it was pre-trained on, kept byte for byte. */
export const SYSTEM_PROMPT = 'Solve it step by step and put the final answer in \\boxed{}.'

/**
 * The reference implementation's math instruction (its data preprocessing puts it in the system message of every
 * prompt), used for every Hugging Face model.
 */
export const MATH_INSTRUCTION = "Let's think step by step and output the final answer within \\boxed{}."

/** The system message for a model of `modelType`: the demo's own for cwb-gpt, the reference's instruction otherwise. */
export function systemPromptFor(modelType: string): string {
  return modelType === MODEL_TYPE ? SYSTEM_PROMPT : MATH_INSTRUCTION
}
