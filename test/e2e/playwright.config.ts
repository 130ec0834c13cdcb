import { existsSync } from 'node:fs'
import { defineConfig } from '@playwright/test'

// Debian's Chromium where present (these machines cannot download Playwright's own browser build).
const debianChromium = '/usr/bin/chromium'

export default defineConfig({
  testDir: '.',
  outputDir: '../../test-results/e2e',
  timeout: 60_000,
  // Two spec files at a time: the browser and the served workbench wait on each other, so two use the two cores better
  // than one (the suite took 186 s against 237-273 s one at a time). Specs that share a server run serially inside.
  workers: 2,
  reporter: [['list']],
  use: {
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CWB_CHROMIUM || (existsSync(debianChromium) ? debianChromium : undefined),
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
})
