// The embedded demo task: seeded word problems with paraphrase families, and the demo tokenizer's pieces.
export {
  DEMO_TASK_DEFAULTS,
  generateDemoTask,
  generatePretrainingExamples,
  type DemoParaphrase,
  type DemoRecord,
  type DemoSplit,
  type DemoTask,
  type DemoTaskOptions,
  type PretrainingExample,
  type SolutionStyle,
} from './generator'
export type { ProblemTypeName } from './problem-types'
export { demoVocabularyPieces } from './vocabulary'
