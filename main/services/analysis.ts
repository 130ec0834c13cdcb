// SCAFFOLD (replaced by the analysis work): the Compare and rollout handlers of the API contract.
import type { Db } from '../store/database'
import { ApiError, type Handlers } from './dispatch'

export type AnalysisHandlers = Pick<
  Handlers,
  | 'metrics.keys'
  | 'metrics.series'
  | 'compare.configDiff'
  | 'compare.summary'
  | 'compare.results'
  | 'rollouts.steps'
  | 'rollouts.get'
  | 'rollouts.agreement'
>

const todo = (): never => {
  throw new ApiError('internal', 'not implemented yet')
}

export function analysisHandlers(db: Db): AnalysisHandlers {
  void db
  return {
    'metrics.keys': todo,
    'metrics.series': todo,
    'compare.configDiff': todo,
    'compare.summary': todo,
    'compare.results': todo,
    'rollouts.steps': todo,
    'rollouts.get': todo,
    'rollouts.agreement': todo,
  }
}
