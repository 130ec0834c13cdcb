// The launch form's state: values generated from the run config's JSON Schema, each mode's defaults for the
// fields the user has not touched, presets, a seed sweep, and validation as the user types (the host checks
// the config exactly as the trainer will; issues come back per field).
import { computed, ref, watch } from 'vue'
import type { ConfigPreset, FieldIssue, Result } from '../../../preload/contract'
import { api, ApiCallError } from '../api/client'

/** The part of JSON Schema (draft 2020-12, as zod writes it) the form understands. */
export interface FieldSchema {
  type?: string
  enum?: unknown[]
  description?: string
  default?: unknown
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  minLength?: number
  maxLength?: number
  properties?: Record<string, FieldSchema>
  prefixItems?: FieldSchema[]
}

export type Config = Record<string, unknown>
type FormSource = Result<'runs.form'>

export const isGroup = (schema: FieldSchema): boolean => schema.type === 'object' && schema.properties !== undefined

export function getAt(config: Config, path: string): unknown {
  let value: unknown = config
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Config)[part]
  }
  return value
}

export function setAt(config: Config, path: string, value: unknown): void {
  const parts = path.split('.')
  let target = config
  for (const part of parts.slice(0, -1)) {
    if (target[part] === null || typeof target[part] !== 'object') target[part] = {}
    target = target[part] as Config
  }
  target[parts[parts.length - 1]!] = value
}

/** Every field path the schema describes (groups are walked; tuples like adam_betas are one field). */
export function leafPaths(schema: FieldSchema, prefix = ''): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, field]) =>
    isGroup(field) ? leafPaths(field, `${prefix}${key}.`) : [`${prefix}${key}`],
  )
}

export function fieldAt(schema: FieldSchema, path: string): FieldSchema | undefined {
  let field: FieldSchema | undefined = schema
  for (const part of path.split('.')) field = field?.properties?.[part]
  return field
}

/** Configs a seed sweep launches: the same config over seeds s, s+1, ... named `<name>-seed<s>`. */
export function sweepSeeds(configs: Config[], seeds: number): Config[] {
  if (seeds <= 1) return configs
  return configs.flatMap((config) => {
    const first = typeof config.seed === 'number' ? config.seed : 1
    const name = typeof config.name === 'string' ? config.name : String(config.mode)
    return Array.from({ length: seeds }, (_, i) => ({ ...config, seed: first + i, name: `${name}-seed${first + i}` }))
  })
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

export function useRunForm() {
  const source = ref<FormSource>()
  const loadError = ref<string>()
  const values = ref<Config>({})
  const touched = ref(new Set<string>())
  /** A preset that launches several runs (the demo comparison): the form shows its configs instead of fields. */
  const multi = ref<ConfigPreset>()
  const presetId = ref<string>()
  const seeds = ref(1)
  const serverIssues = ref<FieldIssue[]>([])
  const checking = ref(false)
  const checked = ref(false)

  const schema = computed<FieldSchema>(() => (source.value?.schema ?? {}) as FieldSchema)
  // Until the user picks one: the host's first mode (runs.form lists each mode's defaults, in the registry's order).
  const mode = computed(() => String(values.value.mode ?? Object.keys(source.value?.defaults ?? {})[0] ?? ''))
  const modeDefaults = (name: string): Config => clone(source.value?.defaults[name] ?? {})

  async function load(): Promise<void> {
    try {
      source.value = await api.call('runs.form', {})
      loadError.value = undefined
    } catch (error) {
      loadError.value = (error as Error).message
    }
  }

  /** Fills the form from a partial config: the mode's defaults, overlaid with the config; the config's own
   * fields count as touched (they survive a change of mode) where they differ from the defaults. */
  function fill(config: Config): void {
    const modeName = String(config.mode ?? mode.value)
    const defaults = modeDefaults(modeName)
    const next = clone(defaults)
    const marked = new Set<string>()
    for (const path of leafPaths(schema.value)) {
      const value = getAt(config, path)
      if (value === undefined) continue
      setAt(next, path, clone(value))
      if (!same(value, getAt(defaults, path)) && path !== 'mode') marked.add(path)
    }
    next.mode = modeName
    values.value = next
    touched.value = marked
    multi.value = undefined
  }

  function reset(): void {
    presetId.value = undefined
    seeds.value = 1
    fill({ mode: mode.value in (source.value?.defaults ?? {}) ? mode.value : Object.keys(source.value?.defaults ?? {})[0] })
    touched.value = new Set()
  }

  function setField(path: string, value: unknown): void {
    const next = clone(values.value)
    setAt(next, path, value)
    if (path === 'mode') {
      // A new mode brings its defaults (the KL coefficient, the EMA teacher) for every untouched field.
      const defaults = modeDefaults(String(value))
      for (const field of touched.value) setAt(defaults, field, clone(getAt(next, field)))
      defaults.mode = value
      values.value = defaults
      return
    }
    // A dataset with a marked audit split (GT quarantine) validates on it unless the user chose a split.
    const audit = path === 'dataset' ? source.value?.auditSplits[String(value)] : undefined
    if (audit && !touched.value.has('validation_split')) setAt(next, 'validation_split', audit)
    values.value = next
    touched.value = new Set([...touched.value, path])
  }

  function applyPreset(preset: ConfigPreset): void {
    presetId.value = preset.id
    if (preset.configs.length === 1) fill(preset.configs[0]!)
    else multi.value = preset
  }

  /** A group (kl, ema, ...) applies to the mode when the mode's defaults have it (ema: Co-rewarding-II only). */
  const groupApplies = (key: string): boolean => key in (source.value?.defaults[mode.value] ?? {})

  /** Fields the user emptied: a number left blank is not silently replaced by its default. */
  const localIssues = computed<FieldIssue[]>(() => {
    if (multi.value) return []
    return leafPaths(schema.value)
      .filter((path) => {
        const field = fieldAt(schema.value, path)
        const top = path.split('.')[0]!
        if (path.includes('.') && !groupApplies(top)) return false
        return (
          (field?.type === 'number' || field?.type === 'integer') &&
          getAt(values.value, path) === null &&
          field.default !== undefined
        )
      })
      .map((path) => ({ path, message: 'Enter a number' }))
  })

  /** The config the form stands for, as the trainer would receive it. */
  const config = computed<Config>(() => {
    const out: Config = {}
    for (const [key, field] of Object.entries(schema.value.properties ?? {})) {
      const value = values.value[key]
      if (value === undefined || value === '') continue
      if (isGroup(field)) {
        if (!groupApplies(key)) continue
        const group: Config = {}
        for (const [inner, innerValue] of Object.entries((value ?? {}) as Config))
          if (innerValue !== null && innerValue !== '') group[inner] = innerValue
        out[key] = group
      } else if (value !== null || field.default !== undefined) out[key] = value
    }
    return out
  })

  const baseConfigs = computed<Config[]>(() => (multi.value ? multi.value.configs : [config.value]))
  const launchConfigs = computed<Config[]>(() => sweepSeeds(baseConfigs.value, Math.max(1, Math.floor(seeds.value || 1))))

  const issues = computed<FieldIssue[]>(() => [
    ...localIssues.value,
    ...serverIssues.value.filter((issue) => !localIssues.value.some((local) => local.path === issue.path)),
  ])

  let sequence = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  async function validate(): Promise<void> {
    const mine = ++sequence
    const configs = baseConfigs.value
    checking.value = true
    try {
      const replies = await Promise.all(configs.map((config) => api.call('runs.validate', { config })))
      if (mine !== sequence) return
      serverIssues.value = replies.flatMap((reply, i) =>
        configs.length === 1
          ? reply.issues
          : reply.issues.map((issue) => ({
              path: '',
              message: `${String(configs[i]!.name ?? `config ${i + 1}`)}: ${issue.path}: ${issue.message}`,
            })),
      )
      checked.value = true
    } catch (error) {
      if (mine !== sequence) return
      serverIssues.value = [{ path: '', message: `Could not check the config: ${(error as Error).message}` }]
    } finally {
      if (mine === sequence) checking.value = false
    }
  }

  watch(
    () => JSON.stringify(baseConfigs.value),
    () => {
      if (!source.value) return
      checked.value = false
      clearTimeout(timer)
      timer = setTimeout(() => void validate(), 250)
    },
  )

  const canLaunch = computed(
    () => checked.value && !checking.value && issues.value.length === 0 && launchConfigs.value.length > 0,
  )

  async function launch(): Promise<number[]> {
    try {
      const { runs } = await api.call('runs.launch', { configs: launchConfigs.value })
      return runs
    } catch (error) {
      if (error instanceof ApiCallError && error.body.issues?.length) serverIssues.value = error.body.issues
      else serverIssues.value = [{ path: '', message: (error as Error).message }]
      throw error
    }
  }

  return {
    source,
    loadError,
    values,
    touched,
    multi,
    presetId,
    seeds,
    schema,
    mode,
    issues,
    checking,
    canLaunch,
    launchConfigs,
    load,
    fill,
    reset,
    setField,
    applyPreset,
    groupApplies,
    launch,
  }
}
