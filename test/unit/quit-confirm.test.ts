// Quitting while runs train asks first (Electron mocked: its binary cannot run here, so the test records the
// message box the app asks Electron for and plays the user's answer).
import { describe, expect, it, vi } from 'vitest'

const answers = vi.hoisted(() => ({ button: 0, asked: [] as unknown[][] }))

vi.mock('electron', () => ({
  dialog: {
    showMessageBoxSync: (...args: unknown[]) => {
      answers.asked.push(args)
      return answers.button
    },
  },
}))

const { decideQuit, guardQuit, quitQuestion } = await import('../../main/app/quit')

type Listener = (event: { preventDefault(): void }) => void

function emitter(): { on: (event: string, listener: Listener) => void; fire: (event: string) => boolean } {
  const listeners = new Map<string, Listener[]>()
  return {
    on: (event, listener) => listeners.set(event, [...(listeners.get(event) ?? []), listener]),
    /** Fires the event and returns whether it went ahead (no listener prevented it). */
    fire: (event) => {
      let prevented = false
      for (const listener of listeners.get(event) ?? []) listener({ preventDefault: () => (prevented = true) })
      return !prevented
    },
  }
}

const two = [
  { id: 3, name: 'co1-seed1' },
  { id: 4, name: 'co2-seed1' },
]

describe('quitting while runs train (Electron mocked)', () => {
  it('quits at once when nothing trains, without asking', () => {
    const ask = vi.fn(() => 0)
    expect(decideQuit([], ask)).toBe('quit')
    expect(ask).not.toHaveBeenCalled()
    expect(quitQuestion([])).toBeUndefined()
  })

  it('asks "N runs are training: stop them and quit, or cancel", saying each saves a checkpoint and can be resumed', () => {
    const question = quitQuestion(two)!
    expect(question.message).toBe('2 runs are training: stop them and quit, or cancel?')
    expect(question.detail).toContain('Each saves a checkpoint at the end of its step and can be resumed.')
    expect(question.detail).toContain('co1-seed1 (run 3)')
    expect(question.buttons).toEqual(['Stop them and quit', 'Cancel'])
    expect(question.cancelId).toBe(1)
    expect(quitQuestion([two[0]!])!.message).toBe('1 run is training: stop it and quit, or cancel?')
    expect(decideQuit(two, () => 0)).toBe('stop-and-quit')
    expect(decideQuit(two, () => 1)).toBe('cancel')
  })

  it('on Cancel keeps the window open and the runs training', async () => {
    answers.button = 1
    answers.asked.length = 0
    const app = { ...emitter(), quit: vi.fn() }
    const window = emitter()
    const stopRuns = vi.fn(async () => [])
    guardQuit({ app, window, activeRuns: () => two, stopRuns })
    expect(window.fire('close')).toBe(false)
    expect(answers.asked).toHaveLength(1)
    expect(answers.asked[0]![0]).toBe(window)
    expect(stopRuns).not.toHaveBeenCalled()
    expect(app.quit).not.toHaveBeenCalled()
  })

  it('on "Stop them and quit" holds the quit until the trainers have stopped, then quits without asking again', async () => {
    answers.button = 0
    answers.asked.length = 0
    let stopped!: () => void
    const stopRuns = vi.fn(() => new Promise<void>((resolve) => (stopped = resolve)))
    const app = { ...emitter(), quit: vi.fn() }
    const window = emitter()
    guardQuit({ app, window, activeRuns: () => two, stopRuns })
    expect(app.fire('before-quit')).toBe(false)
    expect(stopRuns).toHaveBeenCalledTimes(1)
    expect(window.fire('close')).toBe(false)
    expect(answers.asked).toHaveLength(1)
    expect(app.quit).not.toHaveBeenCalled()
    stopped()
    await vi.waitFor(() => expect(app.quit).toHaveBeenCalledTimes(1))
    expect(app.fire('before-quit')).toBe(true)
    expect(window.fire('close')).toBe(true)
  })

  it('lets the window close when no run trains', () => {
    answers.asked.length = 0
    const app = { ...emitter(), quit: vi.fn() }
    const window = emitter()
    guardQuit({ app, window, activeRuns: () => [], stopRuns: async () => [] })
    expect(window.fire('close')).toBe(true)
    expect(app.fire('before-quit')).toBe(true)
    expect(answers.asked).toHaveLength(0)
  })
})
