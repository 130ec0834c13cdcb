// Is the held-out gap between the best checkpoint by GT and the best by self-reward real, or sampling noise? A
// two-proportion z-test at 95% over the validated questions' counts: 5/16 vs 3/16 is noise, 60/200 vs 30/200 is not.

/** Held-out questions answered right at a step, of those validated there (all sources together). */
export interface HeldOutCount {
  step: number
  correct: number
  questions: number
}

/** Two-sided 95%: the gap must be over 1.96 standard errors. */
export const Z_95 = 1.959964

/** The counts behind a mean accuracy over `sources` benchmarks of `perSource` questions each. */
export const heldOutCount = (step: number, heldOut: number, sources: number, perSource: number): HeldOutCount => ({
  step,
  correct: Math.round(heldOut * sources * perSource),
  questions: sources * perSource,
})

/** The pooled two-proportion z statistic of a's accuracy over b's (0 when both are all right or all wrong). */
export function twoProportionZ(a: HeldOutCount, b: HeldOutCount): number {
  const pooled = (a.correct + b.correct) / (a.questions + b.questions)
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.questions + 1 / b.questions))
  return se === 0 ? 0 : (a.correct / a.questions - b.correct / b.questions) / se
}

const percent = (c: HeldOutCount): string => `${((100 * c.correct) / c.questions).toFixed(1)}%`

/** The warning `cwb checkpoints` prints and the Checkpoints view shows, naming validated steps only. */
export function rewardHackingWarning(gt: HeldOutCount, self: HeldOutCount, z: number, validatedSteps: number): string {
  const name = (c: HeldOutCount): string => (c.step === 0 ? 'step 0, the base model' : `step ${c.step}`)
  return (
    `best by GT (${name(gt)}: ${gt.correct}/${gt.questions} = ${percent(gt)} held-out) and best by self-reward ` +
    `(${name(self)}: ${self.correct}/${self.questions} = ${percent(self)}) differ by more than sampling error ` +
    `(two-proportion z = ${z.toFixed(2)} > 1.96, 95%): possible reward hacking. ` +
    `Judged on the ${validatedSteps} validated step(s) (base model and checkpoints) of ${gt.questions} held-out question(s) each.`
  )
}
