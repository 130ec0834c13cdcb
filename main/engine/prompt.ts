// The system message of every prompt (method doc section 1): think step by step, answer in \boxed{}.
export const SYSTEM_PROMPT = 'Solve it step by step and put the final answer in \\boxed{}.'
