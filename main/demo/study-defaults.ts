// What `cwb demo --study` runs unless told otherwise (issue 16, item 5): every mode x 3 seeds x 100 steps, the
// ablations at 2 seeds, greedy pass@1 and maj@8 on 100 test questions every 20 steps. Kept apart from the plan so
// the CLI's help can name them without loading the engine.
export const STUDY_DEFAULTS = { seeds: 3, steps: 100, ablationSeeds: 2, questions: 100, every: 20, samples: 8 } as const
