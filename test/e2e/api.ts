// The host's API as a page calls it (its session cookie), for tests that read back what the UI did.
import { expect, type Page } from '@playwright/test'

/** Calls an API method of the host at `base` as the page; a refusal fails the test with its message. */
export async function pageCall<T>(page: Page, base: string, method: string, params: object): Promise<T> {
  const response = await page.request.post(`${base}api/call/${method}`, { data: params })
  const reply = (await response.json()) as { ok: boolean; result: T; error?: { message: string } }
  expect(reply.error?.message).toBeUndefined()
  return reply.result
}
