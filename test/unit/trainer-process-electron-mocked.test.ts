// The app's trainer as an Electron utilityProcess (Electron mocked: its binary cannot run here, so utilityProcess.fork
// returns a stand-in that records what the owner asks of it, and process.parentPort is stood in on the trainer side).
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { TrainerProcess } from '../../main/services/trainer-process'
import { runEvents } from '../../main/store/events'
import { getRun } from '../../main/store/runs'
import { hostOnWorkspace } from '../helpers/host'
import { tinyRunConfig, writeTinyCheckpoint } from '../helpers/tiny-model'
import { cleanupsAfterEach } from '../helpers/workspace'

class FakeUtilityProcess extends EventEmitter {
  pid: number | undefined = undefined
  stderr = new PassThrough()
  postMessage = vi.fn()
  kill = vi.fn(() => true)
  /** What Electron does once the process runs. */
  spawned(pid: number): void {
    this.pid = pid
    this.emit('spawn')
  }
}

const forked = vi.hoisted(() => ({ calls: [] as unknown[][], child: undefined as unknown }))

vi.mock('electron', () => ({
  utilityProcess: {
    fork: (...args: unknown[]) => {
      forked.calls.push(args)
      return forked.child
    },
  },
}))

const { startUtilityTrainer } = await import('../../main/app/utility-trainer')
const { ownerChannel } = await import('../../main/trainer-channel')

function start(): { trainer: TrainerProcess; child: FakeUtilityProcess } {
  const child = new FakeUtilityProcess()
  forked.child = child
  return { trainer: startUtilityTrainer('/app/out/main/trainer.js'), child }
}

afterEach(() => {
  forked.calls = []
  vi.restoreAllMocks()
})

describe('the trainer as an Electron utilityProcess (Electron mocked)', () => {
  it('forks the trainer module with stdout inherited and stderr piped for the log', () => {
    const { trainer, child } = start()
    expect(forked.calls).toEqual([
      ['/app/out/main/trainer.js', [], { serviceName: 'Co-rewarding Workbench trainer', stdio: ['ignore', 'inherit', 'pipe'] }],
    ])
    expect(trainer.stderr).toBe(child.stderr)
  })

  it('has its pid once spawned, and passes messages both ways', () => {
    const { trainer, child } = start()
    const spawned = vi.fn()
    const messages: unknown[] = []
    trainer.on('spawn', spawned)
    trainer.on('message', (message) => messages.push(message))
    expect(trainer.pid).toBeUndefined()
    child.spawned(4321)
    expect(spawned).toHaveBeenCalledOnce()
    expect(trainer.pid).toBe(4321)

    trainer.send({ type: 'stop' })
    expect(child.postMessage).toHaveBeenCalledWith({ type: 'stop' })
    child.emit('message', { type: 'log', level: 'info', message: 'step 1' })
    expect(messages).toEqual([{ type: 'log', level: 'info', message: 'step 1' }])
  })

  it('reports its own exit with the code, and drops messages after it (posting then can crash Electron)', () => {
    const { trainer, child } = start()
    const exits: unknown[][] = []
    trainer.on('exit', (...args) => exits.push(args))
    child.spawned(4321)
    child.emit('exit', 1)
    expect(exits).toEqual([[1, null]])
    expect(trainer.exited).toBe(true)
    trainer.send({ type: 'stop' })
    expect(child.postMessage).not.toHaveBeenCalled()
  })

  it('kills with SIGKILL through the pid (utilityProcess.kill sends SIGTERM only), reported as the signal', () => {
    const { trainer, child } = start()
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true)
    const exits: unknown[][] = []
    trainer.on('exit', (...args) => exits.push(args))
    child.spawned(4321)
    trainer.kill('SIGKILL')
    expect(kill).toHaveBeenCalledWith(4321, 'SIGKILL')
    expect(child.kill).not.toHaveBeenCalled()
    child.emit('exit', 0)
    expect(exits).toEqual([[null, 'SIGKILL']])
    trainer.kill('SIGKILL')
    expect(kill).toHaveBeenCalledOnce()
  })

  it('asks it to end with utilityProcess.kill for SIGTERM, and before it has a pid', () => {
    const stopping = start()
    stopping.child.spawned(4321)
    stopping.trainer.kill('SIGTERM')
    expect(stopping.child.kill).toHaveBeenCalledOnce()

    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true)
    const starting = start()
    starting.trainer.kill('SIGKILL')
    expect(starting.child.kill).toHaveBeenCalledOnce()
    expect(kill).not.toHaveBeenCalled()
  })
})

describe("the trainer's side of the channel in a utilityProcess (process.parentPort stood in)", () => {
  const host = process as unknown as { parentPort?: EventEmitter & { postMessage(message: unknown): void } }
  afterEach(() => delete host.parentPort)

  it('reads messages from parentPort events and posts its own there', async () => {
    const port = Object.assign(new EventEmitter(), { postMessage: vi.fn() })
    host.parentPort = port
    const channel = ownerChannel()
    const received: unknown[] = []
    channel.onMessage((message) => received.push(message))
    port.emit('message', { data: { type: 'stop' } })
    expect(received).toEqual([{ type: 'stop' }])
    await channel.send({ type: 'log', level: 'info', message: 'stopping' })
    expect(port.postMessage).toHaveBeenCalledWith({ type: 'log', level: 'info', message: 'stopping' })
  })
})

describe('a run in the app, its trainer a utilityProcess (Electron mocked)', () => {
  const cleanups = cleanupsAfterEach()

  it('stores the pid once the trainer has spawned, and a kill fails the run as killed by the user', async () => {
    const { child } = start()
    const { dir, store, call } = hostOnWorkspace(cleanups, { demo: true, maxRuns: 1, startTrainer: startUtilityTrainer })
    writeTinyCheckpoint(join(dir, 'tiny'))
    const {
      runs: [run],
    } = await call('runs.launch', { configs: [tinyRunConfig('in-the-app', join(dir, 'tiny'))] })
    expect(forked.calls.at(-1)?.[0]).toMatch(/out[/\\]main[/\\]trainer\.js$/)
    expect(child.postMessage).toHaveBeenCalledWith(expect.objectContaining({ type: 'start' }))
    expect(getRun(store.db, run!)).toMatchObject({ status: 'running', trainerPid: null })

    child.spawned(4321)
    expect(getRun(store.db, run!)?.trainerPid).toBe(4321)

    const kill = vi.spyOn(process, 'kill').mockImplementation(() => {
      setImmediate(() => child.emit('exit', 0))
      return true
    })
    await call('runs.kill', { run: run! })
    expect(kill).toHaveBeenCalledWith(4321, 'SIGKILL')
    expect(getRun(store.db, run!)).toMatchObject({ status: 'failed', trainerPid: null })
    expect(runEvents(store.db, run!).at(-1)?.message).toBe('Killed by the user at step 0')
  })
})
