// `cwb export-model` and `cwb export-verl` on checkpoints of Hugging Face families, through the built CLI: tiny LoRA
// runs (entropy, and Co-rewarding-II for its EMA teacher) and a fully fine-tuned run on a tiny qwen3 folder. A LoRA
// checkpoint exports as a plain merged Hugging Face folder (its log-probs those of RUN:STEP) or as its PEFT adapter
// alone (which opens as a model again); a full checkpoint as its Hugging Face folder without the workbench's extras;
// verl's overrides carry LoRA's rank, alpha and target modules, with the base as the model path.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../main/engine/checkpoint/safetensors'
import { cwb, lastJson } from '../helpers/cli'
import { CLI_LORA, cliLogprobs, cliTrain, LINES, maxDiff } from '../helpers/hf-cli'
import { writeTinyHfFolder } from '../helpers/hf-folder'
import { freshDirs, tempDir } from '../helpers/workspace'

const folder = freshDirs()
const shared = tempDir('cwb-hf-export-')
const base = join(shared.dir, 'qwen3')
const workspace = join(shared.dir, 'workspace')
const step = (run: string): string => join(workspace, 'runs', run, 'checkpoints/step-2')
/** An exported Hugging Face folder's files: the base's config, generation and tokenizer files and the weights. */
const HF_FOLDER_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']

interface Exported {
  folder: string
  kind: string
  base: string | null
  files: { name: string; bytes: number }[]
}

/** `cwb export-model ... --json` in the shared workspace; its result (fails the test on a non-zero exit). */
function exportModel(args: string[]): Exported {
  const result = cwb(['export-model', ...args, '--workspace', workspace, '--json'])
  expect(result.code, result.stderr).toBe(0)
  return lastJson<Exported>(result.stdout)
}

const logprobs = (model: string, extra: string[] = []): number[][] =>
  cliLogprobs(model, LINES, ['--workspace', workspace, ...extra])

beforeAll(() => {
  writeTinyHfFolder(base, 'qwen3')
  mkdirSync(workspace)
  // 2-step runs from the tiny base, their config files beside the workspace.
  const train = (name: string, mode: string, lora: object | null): void =>
    cliTrain(workspace, base, { name, mode, lora, configDir: shared.dir })
  train('lora', 'entropy', CLI_LORA) // run 1
  train('lora-co2', 'co_rewarding_ii', { ...CLI_LORA, rank: 2, alpha: 6, target_modules: ['q_proj', 'v_proj'] }) // run 2
  train('full', 'ground_truth', null) // run 3
}, 600_000)
afterAll(() => shared.remove())

describe('cwb export-model on Hugging Face families', { timeout: 120_000 }, () => {
  it("--format hf on a LoRA checkpoint writes a plain merged Hugging Face folder whose log-probs are RUN:STEP's within 1e-5", () => {
    const out = join(folder(), 'merged')
    const result = exportModel(['lora:2', '--format', 'hf', '--out', out])
    expect(result).toMatchObject({ folder: out, kind: 'lora', base })
    // The base's config, generation and tokenizer files and the merged weights; no adapter or trainer files.
    expect(readdirSync(out).sort()).toEqual(HF_FOLDER_FILES)
    expect(result.files.map((f) => f.name)).toEqual(readdirSync(out).sort())
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))
    expect(config).toEqual({ ...JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')), torch_dtype: 'float32' })
    for (const file of ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json'])
      expect(readFileSync(join(out, file), 'utf8')).toBe(readFileSync(join(base, file), 'utf8'))
    const header = readSafetensorsHeader(join(out, 'model.safetensors'))
    expect(header.metadata).toEqual({ format: 'pt' })
    const baseHeader = readSafetensorsHeader(join(base, 'model.safetensors'))
    expect(Object.keys(header.tensors).sort()).toEqual(Object.keys(baseHeader.tensors).sort())
    for (const [name, info] of Object.entries(header.tensors)) {
      expect(info.dtype, name).toBe('F32')
      expect(info.shape, name).toEqual(baseHeader.tensors[name]!.shape)
    }
    // Adapted weights changed, the others are the base's bit for bit.
    const merged = readSafetensors(join(out, 'model.safetensors')).tensors
    const original = readSafetensors(join(base, 'model.safetensors')).tensors
    const same = (name: string): boolean =>
      Buffer.compare(
        Buffer.from(merged[name]!.data.buffer, merged[name]!.data.byteOffset, merged[name]!.data.byteLength),
        Buffer.from(original[name]!.data.buffer, original[name]!.data.byteOffset, original[name]!.data.byteLength),
      ) === 0
    expect(same('model.layers.0.self_attn.q_proj.weight')).toBe(false)
    expect(same('model.layers.0.mlp.down_proj.weight')).toBe(false)
    expect(same('model.embed_tokens.weight')).toBe(true)
    expect(same('model.layers.0.input_layernorm.weight')).toBe(true)

    const expected = logprobs('lora:2')
    const got = logprobs(out)
    const diff = maxDiff(got, expected)
    console.log(`merged export vs lora:2 (tfjs): max |Δ logprob| ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-5)
    expect(maxDiff(logprobs(out, ['--engine', 'onnx']), logprobs('lora:2', ['--engine', 'onnx']))).toBeLessThan(1e-5)
    // The adapter moved the model: the base alone gives other numbers.
    expect(maxDiff(logprobs(base), expected)).toBeGreaterThan(1e-4)
  })

  it('--format peft writes the adapter alone, which opens as the same model again', () => {
    const out = join(folder(), 'adapter')
    const result = exportModel(['lora:2', '--format', 'peft', '--out', out])
    expect(result.kind).toBe('lora')
    expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors'])
    expect(readFileSync(join(out, 'adapter_config.json'), 'utf8')).toBe(
      readFileSync(join(step('1'), 'adapter_config.json'), 'utf8'),
    )
    expect(readFileSync(join(out, 'adapter_model.safetensors'))).toEqual(
      readFileSync(join(step('1'), 'adapter_model.safetensors')),
    )
    const diff = maxDiff(logprobs(out), logprobs('lora:2'))
    console.log(`PEFT export vs lora:2: max |Δ logprob| ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-5)
  })

  it('--teacher on a Co-rewarding-II LoRA run exports the EMA teacher: its adapters merged (hf) or alone (peft)', () => {
    const merged = join(folder(), 'teacher-hf')
    const adapter = join(folder(), 'teacher-peft')
    exportModel(['lora-co2:2', '--format', 'hf', '--teacher', '--out', merged])
    exportModel(['lora-co2:2', '--format', 'peft', '--teacher', '--out', adapter])
    expect(readdirSync(adapter).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors'])
    // The teacher's adapters, with Transformers' metadata.
    const teacher = readSafetensors(join(step('2'), 'teacher.safetensors')).tensors
    const written = readSafetensors(join(adapter, 'adapter_model.safetensors'))
    expect(written.metadata).toEqual({ format: 'pt' })
    expect(Object.keys(written.tensors).sort()).toEqual(Object.keys(teacher).sort())
    for (const [name, tensor] of Object.entries(teacher)) expect(written.tensors[name]!.data, name).toEqual(tensor.data)
    const fromAdapter = logprobs(adapter)
    const diff = maxDiff(logprobs(merged), fromAdapter)
    console.log(`teacher: merged vs PEFT export: max |Δ logprob| ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-5)
    // The teacher lags the student: another model than lora-co2:2 itself.
    expect(maxDiff(fromAdapter, logprobs('lora-co2:2'))).toBeGreaterThan(1e-7)
  })

  it('a fully fine-tuned checkpoint exports as its Hugging Face folder without the trainer state; peft and teacher are refused', () => {
    const out = join(folder(), 'full')
    const result = exportModel(['full:2', '--format', 'hf', '--out', out])
    expect(result).toMatchObject({ kind: 'full', base: null })
    expect(readdirSync(step('3')).sort()).toContain('trainer_state.json')
    expect(readdirSync(out).sort()).toEqual(HF_FOLDER_FILES)
    expect(readFileSync(join(out, 'model.safetensors'))).toEqual(readFileSync(join(step('3'), 'model.safetensors')))
    expect(maxDiff(logprobs(out), logprobs('full:2'))).toBeLessThan(1e-5)

    const peft = cwb(['export-model', 'full:2', '--format', 'peft', '--out', join(folder(), 'p'), '--workspace', workspace])
    expect(peft.code).toBe(1)
    expect(peft.stderr).toContain(
      'is not a LoRA checkpoint (it has no adapter_config.json): --format peft writes a LoRA adapter alone',
    )
    const teacher = cwb([
      'export-model',
      'full:2',
      '--format',
      'hf',
      '--teacher',
      '--out',
      join(folder(), 't'),
      '--workspace',
      workspace,
    ])
    expect(teacher.code).toBe(1)
    expect(teacher.stderr).toContain('only Co-rewarding-II checkpoints keep an EMA teacher')
  })

  it('never writes into a non-empty folder, says ONNX is not offered for these families, and takes --base for a moved base', () => {
    const busy = folder()
    writeFileSync(join(busy, 'keep.txt'), 'mine')
    const refused = cwb(['export-model', 'lora:2', '--format', 'hf', '--out', busy, '--workspace', workspace])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('it exists and is not an empty folder')
    expect(readdirSync(busy)).toEqual(['keep.txt'])

    const onnx = cwb(['export-model', 'lora:2', '--workspace', workspace])
    expect(onnx.code).toBe(1)
    expect(onnx.stderr).toContain("export-model writes ONNX for the workbench's cwb-gpt models only")
    expect(existsSync(join(workspace, 'exports'))).toBe(false)

    // A copy of the base elsewhere (same fingerprint): --base finds it; the PEFT export then names it.
    const moved = join(folder(), 'moved-base')
    cpSync(base, moved, { recursive: true })
    const merged = join(folder(), 'merged')
    expect(exportModel(['lora:2', '--format', 'hf', '--base', moved, '--out', merged]).base).toBe(moved)
    expect(maxDiff(logprobs(merged), logprobs('lora:2'))).toBeLessThan(1e-5)
    const adapter = join(folder(), 'adapter')
    exportModel(['lora:2', '--format', 'peft', '--base', moved, '--out', adapter])
    expect(JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe(moved)
    // Another model at --base is refused by its fingerprint.
    const other = join(folder(), 'other')
    writeTinyHfFolder(other, 'qwen3', 99)
    const wrong = cwb([
      'export-model',
      'lora:2',
      '--format',
      'hf',
      '--base',
      other,
      '--out',
      join(folder(), 'x'),
      '--workspace',
      workspace,
    ])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain(`the base model at ${other} is not the one the adapter`)
  })
})

describe('cwb export-model on a plain Hugging Face folder', () => {
  it('copies a sharded folder as it is: the index, its shards and the config, generation and tokenizer files', () => {
    const sharded = join(folder(), 'sharded')
    writeTinyHfFolder(sharded, 'llama')
    const { tensors } = readSafetensors(join(sharded, 'model.safetensors'))
    const names = Object.keys(tensors).sort()
    const half = Math.ceil(names.length / 2)
    const shards = {
      'model-00001-of-00002.safetensors': names.slice(0, half),
      'model-00002-of-00002.safetensors': names.slice(half),
    }
    const weightMap: Record<string, string> = {}
    for (const [file, part] of Object.entries(shards)) {
      writeSafetensors(join(sharded, file), Object.fromEntries(part.map((name) => [name, tensors[name]!])), { format: 'pt' })
      for (const name of part) weightMap[name] = file
    }
    writeFileSync(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }))
    rmSync(join(sharded, 'model.safetensors'))
    const out = join(folder(), 'copy')
    expect(exportModel([sharded, '--format', 'hf', '--out', out])).toMatchObject({ kind: 'full', base: null })
    expect(readdirSync(out).sort()).toEqual(readdirSync(sharded).sort())
    expect(maxDiff(logprobs(out), logprobs(sharded))).toBe(0)
  })
})

describe('cwb export-verl with LoRA', { timeout: 120_000 }, () => {
  interface VerlResult {
    model: string
    lora: { rank: number; alpha: number; target_modules: string[] } | null
    overrides: string[]
    files: { script: string }
  }
  const exportVerl = (run: string, extra: string[] = []): VerlResult => {
    const result = cwb(['export-verl', run, '--out', folder(), '--workspace', workspace, '--json', ...extra])
    expect(result.code, result.stderr).toBe(0)
    return lastJson<VerlResult>(result.stdout)
  }

  it("a LoRA run's overrides carry its rank, alpha and target modules, and the model defaults to the run's base folder", () => {
    const result = exportVerl('lora-co2')
    expect(result.model).toBe(base)
    expect(result.lora).toEqual({ rank: 2, alpha: 6, target_modules: ['q_proj', 'v_proj'] })
    expect(result.overrides).toEqual(
      expect.arrayContaining([
        `actor_rollout_ref.model.path=${base}`,
        'actor_rollout_ref.model.lora_rank=2',
        'actor_rollout_ref.model.lora_alpha=6',
        'actor_rollout_ref.model.target_modules=[q_proj,v_proj]',
        'actor_rollout_ref.rollout.load_format=safetensors',
      ]),
    )
    // Quoted in the script, so bash does not read the brackets as a pattern.
    expect(readFileSync(result.files.script, 'utf8')).toContain('"actor_rollout_ref.model.target_modules=[q_proj,v_proj]"')
  })

  it('--model naming a LoRA checkpoint trains its base with its settings; a full run has no LoRA keys', () => {
    const full = exportVerl('full')
    expect(full.model).toBe(base)
    expect(full.lora).toBeNull()
    expect(full.overrides.some((o) => o.includes('lora'))).toBe(false)
    const fromAdapter = exportVerl('full', ['--model', 'lora:2'])
    expect(fromAdapter.model).toBe(base)
    expect(fromAdapter.lora).toEqual({ rank: 4, alpha: 8, target_modules: CLI_LORA.target_modules })
    expect(fromAdapter.overrides).toEqual(
      expect.arrayContaining([
        `actor_rollout_ref.model.path=${base}`,
        'actor_rollout_ref.model.lora_rank=4',
        'actor_rollout_ref.model.lora_alpha=8',
        `actor_rollout_ref.model.target_modules=[${CLI_LORA.target_modules.join(',')}]`,
      ]),
    )
    // A plain Hugging Face folder as --model is the path as given; a hub id not cached here is passed on for verl.
    expect(exportVerl('full', ['--model', base]).model).toBe(base)
    expect(exportVerl('full', ['--model', 'Qwen/Qwen3-1.7B-Base']).model).toBe('Qwen/Qwen3-1.7B-Base')
  })
})
