// The linear layers of the decoder families a LoRA adapter may target (PEFT's target_modules names) and where each
// sits in a block. Kept apart from lora.ts so what only needs the names (the run config, the memory plan) stays free
// of tfjs.
export const LORA_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const
export type LoraModule = (typeof LORA_MODULES)[number]

export const MODULE_PATH: Record<LoraModule, string> = {
  q_proj: 'self_attn.q_proj',
  k_proj: 'self_attn.k_proj',
  v_proj: 'self_attn.v_proj',
  o_proj: 'self_attn.o_proj',
  gate_proj: 'mlp.gate_proj',
  up_proj: 'mlp.up_proj',
  down_proj: 'mlp.down_proj',
}
