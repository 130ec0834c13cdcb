// SCAFFOLD (replaced by the run-lifecycle work): the run handlers of the API contract.
import type { Handlers } from './dispatch'
import { ApiError } from './dispatch'
import type { Store } from '../store/store'

export type RunHandlers = Pick<
  Handlers,
  | 'runs.list'
  | 'runs.get'
  | 'runs.log'
  | 'runs.form'
  | 'runs.validate'
  | 'runs.launch'
  | 'runs.queue'
  | 'runs.stop'
  | 'runs.resume'
  | 'runs.kill'
  | 'runs.update'
  | 'runs.delete'
  | 'runs.prune'
  | 'runs.disk'
>

const todo = (): never => {
  throw new ApiError('internal', 'not implemented yet')
}

export function runHandlers(store: Store): RunHandlers {
  return {
    'runs.list': () => store.listRuns(),
    'runs.get': todo,
    'runs.log': todo,
    'runs.form': todo,
    'runs.validate': todo,
    'runs.launch': todo,
    'runs.queue': todo,
    'runs.stop': todo,
    'runs.resume': todo,
    'runs.kill': todo,
    'runs.update': todo,
    'runs.delete': todo,
    'runs.prune': todo,
    'runs.disk': todo,
  }
}
