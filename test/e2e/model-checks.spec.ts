// Model checks in Chromium against `cwb serve`, with a stand-in endpoint (a real local HTTP server started here,
// speaking the chat-completions API) as the judge: run the judge from the Datasets view on the filtered records,
// stop it part way with its progress bar's Stop and resume it, then filter by judge errors and read the verdict in
// the review pane (issue 17, item 1).
import { writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { cwb, serve, type Served } from '../helpers/cli'
import { tempDir } from '../helpers/workspace'
import { expectScreenshot, openApp } from './screenshots'

let served: Served
let workspace: { dir: string; remove: () => void }
let endpoint: Server
let endpointUrl: string
const asked: string[] = []

/** 8 pairs: the rewrites of records 3 and 6 change a number the answer depends on, the others only retell. */
const ROWS = Array.from({ length: 8 }, (_, i) => {
  const [a, b] = [10 + i, 3 + i]
  const changed = i === 2 || i === 5
  return {
    question: `Sam has ${a} apples and buys ${b} more. How many apples does Sam have now?`,
    answer: String(a + b),
    paraphrase: `A baker bakes ${a} loaves and then ${changed ? b + 4 : b} more. How many loaves are there now?`,
    changed,
  }
})

test.describe.configure({ mode: 'serial' })

test.beforeAll(async () => {
  workspace = tempDir('cwb-e2e-model-checks-')
  const file = join(workspace.dir, 'pairs.jsonl')
  writeFileSync(
    file,
    ROWS.map(({ question, answer, paraphrase }) =>
      JSON.stringify({ question, answer, paraphrases: [{ text: paraphrase, status: 'accepted' }] }),
    ).join('\n') + '\n',
  )
  const ws = join(workspace.dir, 'ws')
  const imported = cwb(['import', file, '--name', 'apples', '--workspace', ws, '--json'], { CWB_DEMO: '0' })
  expect(imported.code, imported.stderr).toBe(0)
  // The stand-in judge: a verdict line per pair, slow enough to be stopped part way.
  endpoint = createServer((request, response) => {
    let raw = ''
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()))
    request.on('end', () => {
      const body = JSON.parse(raw) as { messages: { content: string }[] }
      const paraphrase = body.messages[0]!.content.split('Rewritten problem:\n')[1]!.split('\n')[0]!
      asked.push(paraphrase)
      const row = ROWS.find((r) => r.paraphrase === paraphrase)
      const content = row?.changed
        ? `DIFFERENT: the rewrite adds ${paraphrase.match(/then (\d+)/)![1]} where the original adds ${row.question.match(/buys (\d+)/)![1]}.`
        : 'SAME: only the setting changed.'
      setTimeout(
        () =>
          response
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] })),
        400,
      )
    })
  })
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve))
  endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/v1`
  served = await serve(['--workspace', ws, '--no-demo'])
})

test.afterAll(async () => {
  expect(await served.stop()).toBe(0)
  endpoint.closeAllConnections()
  endpoint.close()
  workspace.remove()
})

test('the judge runs from Model checks against a stand-in endpoint, stops, resumes, and its errors filter', async ({ page }) => {
  const errors = await openApp(page, served, '/datasets/1')
  await expect(page.getByRole('heading', { level: 1 })).toContainText('apples')
  await page.getByRole('button', { name: 'Model checks' }).click()
  const drawer = page.getByRole('dialog', { name: 'Model checks' })
  const judge = drawer.getByRole('region', { name: 'Judge' })
  await judge.getByLabel('Judge endpoint URL').fill(endpointUrl)
  await judge.getByLabel('Judge model').fill('stand-in-judge')
  await judge.getByLabel('Judge concurrency').fill('1')
  await expect(judge).toContainText('Scope: the paraphrases (not rejected) of 8 records (all records)')

  // Stop part way: the verdicts so far stay stored.
  await judge.getByRole('button', { name: 'Run judge' }).click()
  const bar = judge.getByRole('progressbar', { name: 'Judge progress' })
  await expect(bar).toBeVisible()
  await expect(judge.getByRole('group', { name: 'Judge' })).toContainText(/judging [2-7] \/ 8/)
  await judge.getByRole('button', { name: 'Stop' }).click()
  const result = judge.getByRole('status', { name: 'Judge result' })
  await expect(result).toContainText('Stopped after')
  const stopped = asked.length
  expect(stopped).toBeGreaterThanOrEqual(2)
  expect(stopped).toBeLessThan(8)

  // Resume: only the rest are asked.
  await judge.getByRole('button', { name: 'Resume' }).click()
  await expect(result).toContainText('Done:', { timeout: 20_000 })
  await expect(result).toContainText('judged before, skipped')
  expect(new Set(asked).size).toBe(8)
  expect(asked.length).toBeLessThanOrEqual(9) // the one in flight when stopped may be asked twice
  // The resumed job counts only its own verdicts (the two changed pairs may fall either side of the stop); the
  // filter below counts both parts' errors.
  await expect(result).toContainText(/[0-2] different/)
  await expectScreenshot(page, 'datasets-model-checks-panel')

  // The filter's Check list has the model checks; "Show the pairs judged different" picks judge + error.
  const checkFacet = page.getByLabel('Check', { exact: true })
  await expect(checkFacet.locator('option')).toContainText(['model judge', 'model agreement'])
  await result.getByRole('button', { name: 'Show the pairs judged different' }).click()
  await drawer.getByRole('button', { name: 'Close' }).click()
  await expect(checkFacet).toHaveValue('judge')
  await expect(page.getByLabel('Severity', { exact: true })).toHaveValue('error')
  await expect(page.getByTestId('filter-total')).toHaveText('2 records')
  // The same through the filter's own fields.
  await page.getByRole('button', { name: 'Clear filter' }).click()
  await expect(page.getByTestId('filter-total')).toHaveText('8 records')
  await checkFacet.selectOption('judge')
  await page.getByLabel('Severity', { exact: true }).selectOption('error')
  await expect(page.getByTestId('filter-total')).toHaveText('2 records')
  const pair = page.getByRole('region', { name: 'Pair' })
  await expect(pair).toContainText('Record 3')
  const verdict = pair.getByRole('list', { name: 'Checks' }).locator('[data-severity="error"][data-check="judge"]')
  await expect(verdict).toContainText(
    'stand-in-judge judges the final answers different: the rewrite adds 9 where the original adds 5.',
  )
  await expect(pair.getByRole('list', { name: 'Checks' })).toContainText('model judge')
  await expectScreenshot(page, 'datasets-model-checks-judge')
  // Generate asks for the same endpoint with the same fields: the URL and model typed for the judge are there.
  await page.getByRole('navigation', { name: 'Tools' }).getByRole('button', { name: 'Generate' }).click()
  const generate = page.getByRole('dialog', { name: 'Generate' })
  await expect(generate.getByLabel('Endpoint URL', { exact: true })).toHaveValue(endpointUrl)
  await expect(generate.getByLabel('Model', { exact: true })).toHaveValue('stand-in-judge')
  await expect(generate.getByLabel('Concurrency', { exact: true })).toHaveValue('4') // its own
  expect(errors).toEqual([])
})
