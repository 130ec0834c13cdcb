import { defineConfig } from '@playwright/test'
import e2e from '../e2e/playwright.config'

// Browser benchmarks (`*.bench.spec.ts`): the e2e setup (Chromium, viewport, one worker), longer limits.
export default defineConfig({
  ...e2e,
  testDir: '.',
  testMatch: '**/*.bench.spec.ts',
  outputDir: '../../test-results/bench',
  timeout: 600_000,
})
