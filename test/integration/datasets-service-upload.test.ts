// Browser mode has no host paths: a data file is uploaded to `POST /api/upload?name=FILE` (token required), lands in
// the workspace's uploads folder under a safe name, and its path goes to previewImport and import like any other.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startServer } from '../../main/serve/server'
import { callApi, serveTempWorkspace } from '../helpers/cli'
import { hostOnWorkspace } from '../helpers/host'
import { cleanupsAfterEach } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()

const jsonl = (rows: object[]): string => rows.map((row) => JSON.stringify(row)).join('\n') + '\n'

const upload = (base: string, name: string | undefined, body: Buffer | string, token?: string): Promise<Response> =>
  fetch(`${base}api/upload${name === undefined ? '' : `?name=${encodeURIComponent(name)}`}`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body,
  })

describe('uploading a data file in browser mode', () => {
  it('stores the upload under a safe name in the workspace, previews and imports it, then removes it', async () => {
    const served = await serveTempWorkspace(cleanups)
    const content = jsonl([
      { question: 'What is 2 + 3?', answer: '5', paraphrase: 'Add 2 and 3.' },
      { question: 'What is 4 + 4?', answer: '8' },
    ])
    const response = await upload(served.base, '../../my data.jsonl', content, served.token)
    expect(response.status).toBe(200)
    const { path } = ((await response.json()) as { result: { path: string } }).result
    expect(path.startsWith(join(served.workspace, 'uploads'))).toBe(true)
    expect(path).toMatch(/[/\\][0-9a-f]{16}-my_data\.jsonl$/)
    expect(readFileSync(path, 'utf8')).toBe(content)

    const preview = await callApi<{ schema: string; rows: number; suggestedName: string }>(served, 'datasets.previewImport', {
      path,
    })
    expect(preview).toMatchObject({ schema: 'plain', rows: 2, suggestedName: 'my_data' })
    const imported = await callApi<{ dataset: number; name: string; records: number; paraphrases: number }>(
      served,
      'datasets.import',
      {
        path,
        job: 'upload-1',
      },
    )
    expect(imported).toMatchObject({ name: 'my_data', records: 2, paraphrases: 1 })
    const detail = await callApi<{ description: string }>(served, 'datasets.get', { dataset: imported.dataset })
    expect(detail.description).toBe('Imported from my_data.jsonl')
    expect(existsSync(path)).toBe(false)
  })

  it('needs the token, POST and a file name', async () => {
    const served = await serveTempWorkspace(cleanups)
    expect((await upload(served.base, 'a.jsonl', 'x')).status).toBe(401)
    expect((await upload(served.base, undefined, 'x', served.token)).status).toBe(400)
    expect(
      (await fetch(`${served.base}api/upload?name=a.jsonl`, { headers: { authorization: `Bearer ${served.token}` } })).status,
    ).toBe(405)
    expect(existsSync(join(served.workspace, 'uploads')) ? readdirSync(join(served.workspace, 'uploads')) : []).toEqual([])
  })

  it('refuses an upload past the size limit and keeps nothing of it', async () => {
    const { dir, host } = hostOnWorkspace(cleanups)
    const rendererDir = join(dir, 'renderer')
    mkdirSync(rendererDir)
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      token: 't0ken',
      rendererDir,
      workbench: host,
      maxUploadBytes: 1000,
    })
    cleanups.push(() => server.close())
    const base = `http://127.0.0.1:${server.port}/`
    expect((await upload(base, 'small.jsonl', 'x'.repeat(1000), 't0ken')).status).toBe(200)
    const refused = await upload(base, 'big.jsonl', Buffer.alloc(5000, 120), 't0ken')
    expect(refused.status).toBe(413)
    expect(await refused.text()).toMatch(/uploads are limited to 1000 bytes/)
    expect(readdirSync(join(dir, 'uploads')).map((f) => f.slice(17))).toEqual(['small.jsonl'])
  })
})
