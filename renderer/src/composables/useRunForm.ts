// The launch form's state: values generated from the run config's JSON Schema, each mode's defaults for the
// fields the user has not touched, presets, a seed sweep, and validation and the memory plan as the user types (the
// host checks the config exactly as the trainer will; issues come back per field).
import { computed, ref, watch } from 'vue'
import type { ConfigPreset, FieldIssue, MemoryPlan, Result } from '../../../preload/contract'
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
  /** An array's items: `{ type: 'string', enum: [...] }` is a multi-select. */
  items?: FieldSchema | false
  minItems?: number
  /** `[object, { type: 'null' }]` is an optional group (null = off), like `lora`. */
  anyOf?: FieldSchema[]
}

export type Config = Record<string, unknown>
type FormSource = Result<'runs.form'>

export const isGroup = (schema: FieldSchema): boolean => schema.type === 'object' && schema.properties !== undefined

/** The object of an optional group (`anyOf: [object, null]`, e.g. `lora`), else undefined. */
export function optionalGroup(schema: FieldSchema): FieldSchema | undefined {
  const branches = schema.anyOf ?? []
  if (branches.length !== 2 || !branches.some((branch) => branch.type === 'null')) return undefined
  return branches.find(isGroup)
}

/** A multi-select: an array of enum values (`lora.target_modules`). */
export const isMultiSelect = (schema: FieldSchema): boolean =>
  schema.type === 'array' && typeof schema.items === 'object' && Array.isArray(schema.items.enum)

/** A multi-select's choices that stand for all the others and go alone (PEFT's "all-linear"). */
export const EXCLUSIVE_CHOICES = ['all-linear']

/**
 * What an optional group starts with when it is switched on, where its schema gives no default: LoRA's usual
 * rank 16, alpha 32 on the attention projections.
 */
export const GROUP_STARTS: Record<string, Config> = {
  lora: { rank: 16, alpha: 32, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], dropout: 0 },
}

/** An optional group's value when switched on: each field's schema default, else GROUP_STARTS'. */
export function groupStart(key: string, group: FieldSchema): Config {
  const start: Config = {}
  for (const [inner, field] of Object.entries(group.properties ?? {})) {
    const value = field.default !== undefined ? field.default : GROUP_STARTS[key]?.[inner]
    if (value !== undefined) start[inner] = JSON.parse(JSON.stringify(value)) as unknown
  }
  return start
}

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

/** Every field path the schema describes (groups are walked; tuples like adam_betas and optional groups like lora are
 * one field each). */
export function leafPaths(schema: FieldSchema, prefix = ''): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, field]) =>
    isGroup(field) ? leafPaths(field, `${prefix}${key}.`) : [`${prefix}${key}`],
  )
}

export function fieldAt(schema: FieldSchema, path: string): FieldSchema | undefined {
  let field: FieldSchema | undefined = schema
  for (const part of path.split('.')) field = (field && optionalGroup(field))?.properties?.[part] ?? field?.properties?.[part]
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
  /** The memory plan of the config the form stands for (single configs only); null while it cannot be planned. */
  const plan = ref<MemoryPlan | null>(null)
  const planIssues = ref<FieldIssue[]>([])
  const planning = ref(false)

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
    // An edit inside a one-field group (lora.rank) touches the whole field (lora), which a new mode then keeps.
    const field = leafPaths(schema.value).find((leaf) => path === leaf || path.startsWith(`${leaf}.`)) ?? path
    touched.value = new Set([...touched.value, field])
  }

  function applyPreset(preset: ConfigPreset): void {
    presetId.value = preset.id
    if (preset.configs.length === 1) fill(preset.configs[0]!)
    else multi.value = preset
  }

  /** A group (kl, ema, ...) applies to the mode when the mode's defaults have it (ema: Co-rewarding-II only). */
  const groupApplies = (key: string): boolean => key in (source.value?.defaults[mode.value] ?? {})
  /** A field some modes' defaults carry and this mode's do not (cross_view: Co-rewarding-I only) is not this mode's. */
  const applies = (key: string): boolean =>
    groupApplies(key) || !Object.values(source.value?.defaults ?? {}).some((defaults) => key in defaults)

  /** Fields the user emptied: a number left blank is not silently replaced by its default. */
  const localIssues = computed<FieldIssue[]>(() => {
    if (multi.value) return []
    // An optional group that is on (lora) has fields of its own to fill.
    const inner = leafPaths(schema.value).flatMap((path) => {
      const group = optionalGroup(fieldAt(schema.value, path) ?? {})
      return group && getAt(values.value, path) ? leafPaths(group, `${path}.`) : []
    })
    return [...leafPaths(schema.value), ...inner]
      .filter((path) => {
        const field = fieldAt(schema.value, path)
        const top = path.split('.')[0]!
        if (path.includes('.') && !groupApplies(top)) return false
        return (
          (field?.type === 'number' || field?.type === 'integer') &&
          getAt(values.value, path) === null &&
          (field.default !== undefined || inner.includes(path))
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
      } else if (!applies(key)) continue
      else if (value !== null || field.default !== undefined) out[key] = value
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
    void updatePlan(mine, configs)
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

  /** The plan of a single config, as the user edits (a multi-run preset shows none). */
  async function updatePlan(mine: number, configs: Config[]): Promise<void> {
    if (configs.length !== 1) {
      plan.value = null
      planIssues.value = []
      return
    }
    planning.value = true
    try {
      const reply = await api.call('runs.plan', { config: configs[0] })
      if (mine !== sequence) return
      plan.value = reply.plan
      planIssues.value = reply.issues
    } catch (error) {
      if (mine !== sequence) return
      plan.value = null
      planIssues.value = [{ path: '', message: `Could not plan the run: ${(error as Error).message}` }]
    } finally {
      if (mine === sequence) planning.value = false
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
    plan,
    planIssues,
    planning,
    canLaunch,
    launchConfigs,
    load,
    fill,
    reset,
    setField,
    applyPreset,
    groupApplies,
    applies,
    launch,
  }
}
