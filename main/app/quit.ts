// Quitting the app while runs train asks first: stop them and quit (each saves a checkpoint at the end of its
// step and can be resumed), or cancel. The question and what each answer means are plain functions; guardQuit
// hooks them to the window's close and the app's before-quit.
import { dialog } from 'electron'
import type { BrowserWindow, MessageBoxSyncOptions } from 'electron'

export interface TrainingRun {
  id: number
  name: string
}

export type QuitChoice = 'quit' | 'stop-and-quit' | 'cancel'

const STOP_AND_QUIT = 0
const CANCEL = 1

/** The question to ask before quitting, or undefined when nothing trains. */
export function quitQuestion(runs: readonly TrainingRun[]): MessageBoxSyncOptions | undefined {
  if (runs.length === 0) return undefined
  const one = runs.length === 1
  return {
    type: 'question',
    title: 'Runs are training',
    buttons: ['Stop them and quit', 'Cancel'],
    defaultId: CANCEL,
    cancelId: CANCEL,
    noLink: true,
    message: `${runs.length} ${one ? 'run is' : 'runs are'} training: stop ${one ? 'it' : 'them'} and quit, or cancel?`,
    detail: [
      'Each saves a checkpoint at the end of its step and can be resumed.',
      '',
      ...runs.map((run) => `${run.name} (run ${run.id})`),
    ].join('\n'),
  }
}

/** What quitting does now: quit at once when nothing trains, else what the user answers (`ask` returns the button). */
export function decideQuit(runs: readonly TrainingRun[], ask: (question: MessageBoxSyncOptions) => number): QuitChoice {
  const question = quitQuestion(runs)
  if (!question) return 'quit'
  return ask(question) === STOP_AND_QUIT ? 'stop-and-quit' : 'cancel'
}

interface PreventableEvent {
  preventDefault(): void
}

export interface QuitGuard {
  app: { on(event: 'before-quit', listener: (event: PreventableEvent) => void): unknown; quit(): void }
  window: { on(event: 'close', listener: (event: PreventableEvent) => void): unknown }
  /** The runs whose trainers this app owns (WorkbenchHost.activeRuns). */
  activeRuns: () => TrainingRun[]
  /** Stops them after their step and waits (WorkbenchHost.stopRuns). */
  stopRuns: () => Promise<unknown>
  /** Shows the question (default: a message box over the window). */
  ask?: (question: MessageBoxSyncOptions) => number
}

/** Asks before the window closes or the app quits while runs train; on "stop", waits for the trainers, then quits. */
export function guardQuit(guard: QuitGuard): void {
  const ask =
    guard.ask ?? ((question: MessageBoxSyncOptions) => dialog.showMessageBoxSync(guard.window as BrowserWindow, question))
  let stopping = false
  let cleared = false
  const onQuit = (event: PreventableEvent): void => {
    if (cleared) return
    if (stopping) return event.preventDefault()
    const choice = decideQuit(guard.activeRuns(), ask)
    if (choice === 'quit') return
    event.preventDefault()
    if (choice === 'cancel') return
    stopping = true
    void guard.stopRuns().finally(() => {
      cleared = true
      guard.app.quit()
    })
  }
  guard.window.on('close', onQuit)
  guard.app.on('before-quit', onQuit)
}
