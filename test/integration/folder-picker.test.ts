// The desktop app's folder picker for a run's starting checkpoint (app.pickFolder): the host asks the picker it was
// given (Electron's dialog.showOpenDialog in main/index.ts, a function here, since Electron's binary cannot run on
// these machines) and answers its folder or null on cancel; a browser-mode host has no picker and says so.
import { describe, expect, it } from 'vitest'
import { hostOnWorkspace } from '../helpers/host'
import { cleanupsAfterEach } from '../helpers/workspace'

const cleanups = cleanupsAfterEach()

describe('app.pickFolder (the picker mocked: Electron cannot run here)', () => {
  it("answers the desktop picker's folder, with the title the form asks for, and null when cancelled", async () => {
    const asked: (string | undefined)[] = []
    let answer: string | undefined = '/home/me/models/Qwen3-0.6B'
    const { call } = hostOnWorkspace(cleanups, {
      host: 'electron',
      pickFolder: async (title) => {
        asked.push(title)
        return answer
      },
    })
    expect(await call('app.pickFolder', { title: 'Starting checkpoint' })).toEqual({ path: '/home/me/models/Qwen3-0.6B' })
    answer = undefined
    expect(await call('app.pickFolder', {})).toEqual({ path: null })
    expect(asked).toEqual(['Starting checkpoint', undefined])
  })

  it('is refused in browser mode, where a page cannot pick host folders', async () => {
    const { refuse } = hostOnWorkspace(cleanups)
    expect(await refuse('app.pickFolder', {})).toMatchObject({
      code: 'invalid_request',
      message: 'No folder picker in browser mode: type the folder path instead.',
    })
  })
})
