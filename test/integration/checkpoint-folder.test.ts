import { spawn, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { build } from 'vite'
import { describe, expect, it } from 'vitest'
import {
  listCheckpointFiles,
  readCheckpoint,
  writeCheckpoint,
  type CheckpointParts,
  type ModelConfig,
  type ReadCheckpointOptions,
} from '../../main/engine/checkpoint/folder'
import { resolveCheckpoint } from '../../main/engine/checkpoint/resolve'
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../main/engine/checkpoint/safetensors'
import { root } from '../helpers/cli'
import { freshDirs } from '../helpers/workspace'

const freshDir = freshDirs()
const FOLDER_MODULE = JSON.stringify(join(root, 'main', 'engine', 'checkpoint', 'folder'))

/** Bundles a TypeScript script that imports the checkpoint code, so another Node process can run it. */
async function bundle(name: string, source: string): Promise<string> {
  const dir = freshDir()
  writeFileSync(join(dir, `${name}.ts`), source)
  await build({
    configFile: false,
    logLevel: 'silent',
    root: dir,
    build: { ssr: join(dir, `${name}.ts`), outDir: dir, minify: false },
  })
  return join(dir, `${name}.mjs`)
}

const dimensions = (config: ModelConfig): { vocab: number; hidden: number } => ({
  vocab: config.vocab_size as number,
  hidden: config.hidden_size as number,
})

/** What the (test) architecture "cwb-gpt" needs: an embedding and a norm. */
const expectedWeights = (config: ModelConfig): Record<string, number[]> => {
  const { vocab, hidden } = dimensions(config)
  return { 'embed.weight': [vocab, hidden], 'norm.weight': [hidden] }
}

const options: ReadCheckpointOptions = { supportedModelTypes: ['cwb-gpt'], expectedWeights }

function sampleParts(version = 1): CheckpointParts {
  return {
    config: { model_type: 'cwb-gpt', vocab_size: 4, hidden_size: 2, version },
    weights: {
      'embed.weight': { dtype: 'F32', shape: [4, 2], data: new Float32Array([0, 1, 2, 3, 4, 5, 6, version]) },
      'norm.weight': { dtype: 'F32', shape: [2], data: new Float32Array([1, 0.5]) },
    },
    tokenizer: { version: '1.0', model: { type: 'WordLevel', vocab: { '<eos>': 0, '▁a': 1 } } },
    tokenizerConfig: { chat_template: '{{ messages[0].content }}', eos_token: '<eos>', bos_token: null, pad_token: '<eos>' },
    trainerState: { step: 10 * version, rng: [1, 2, 3, 4], data_order: [2, 0, 1] },
    extraTensors: {
      'optimizer.safetensors': {
        'embed.weight.exp_avg': { dtype: 'F32', shape: [4, 2], data: new Float32Array(8).fill(0.25) },
        step: { dtype: 'I64', shape: [], data: new BigInt64Array([BigInt(10 * version)]) },
      },
      'teacher.safetensors': { 'norm.weight': { dtype: 'F32', shape: [2], data: new Float32Array([0.9, 0.4]) } },
    },
  }
}

const values = (data: ArrayLike<number | bigint> | undefined): (number | bigint)[] => Array.from(data ?? [])

describe('checkpoint folders', () => {
  it('round-trip every part through real files in Hugging Face layout', () => {
    const dir = join(freshDir(), 'run-1', 'step-10')
    writeCheckpoint(dir, sampleParts())
    expect(readdirSync(dir).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'teacher.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'trainer_state.json',
    ])
    const checkpoint = readCheckpoint(dir, { ...options, extraTensors: ['optimizer.safetensors', 'teacher.safetensors'] })
    expect(checkpoint.dir).toBe(dir)
    expect(checkpoint.config).toEqual({ model_type: 'cwb-gpt', vocab_size: 4, hidden_size: 2, version: 1 })
    expect(checkpoint.weights['embed.weight']).toMatchObject({ dtype: 'F32', shape: [4, 2] })
    expect(values(checkpoint.weights['embed.weight']?.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 1])
    expect(values(checkpoint.weights['norm.weight']?.data)).toEqual([1, 0.5])
    expect(checkpoint.tokenizer).toEqual({ version: '1.0', model: { type: 'WordLevel', vocab: { '<eos>': 0, '▁a': 1 } } })
    expect(checkpoint.tokenizerConfig).toEqual({
      chat_template: '{{ messages[0].content }}',
      eos_token: '<eos>',
      bos_token: null,
      pad_token: '<eos>',
    })
    expect(checkpoint.trainerState).toEqual({ step: 10, rng: [1, 2, 3, 4], data_order: [2, 0, 1] })
    expect(values(checkpoint.extraTensors['optimizer.safetensors']?.step?.data)).toEqual([10n])
    expect(values(checkpoint.extraTensors['teacher.safetensors']?.['norm.weight']?.data)).toEqual([
      Math.fround(0.9),
      Math.fround(0.4),
    ])
  })

  it('marks model.safetensors with format "pt", which Transformers requires', () => {
    const dir = join(freshDir(), 'ckpt')
    writeCheckpoint(dir, sampleParts())
    expect(readSafetensors(join(dir, 'model.safetensors')).metadata).toEqual({ format: 'pt' })
  })

  it('loads extra tensor files only when asked, and leaves optional JSON parts out when absent', () => {
    const dir = join(freshDir(), 'ckpt')
    const { config, weights, tokenizer } = sampleParts()
    writeCheckpoint(dir, { config, weights, tokenizer })
    const checkpoint = readCheckpoint(dir, options)
    expect(checkpoint.extraTensors).toEqual({})
    expect(checkpoint.tokenizerConfig).toBeUndefined()
    expect(checkpoint.trainerState).toBeUndefined()
  })

  it('lists the files of a checkpoint with their sizes, subfolders included', () => {
    const dir = join(freshDir(), 'ckpt')
    writeCheckpoint(dir, sampleParts())
    mkdirSync(join(dir, 'onnx'))
    writeFileSync(join(dir, 'onnx', 'model.onnx'), '12345')
    const files = listCheckpointFiles(dir)
    expect(files.map((file) => file.name)).toEqual([
      'config.json',
      'model.safetensors',
      'onnx/model.onnx',
      'optimizer.safetensors',
      'teacher.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'trainer_state.json',
    ])
    expect(files.find((file) => file.name === 'onnx/model.onnx')?.bytes).toBe(5)
    expect(files.find((file) => file.name === 'model.safetensors')?.bytes).toBe(
      readFileSync(join(dir, 'model.safetensors')).length,
    )
    expect(() => listCheckpointFiles(join(dir, 'nope'))).toThrow(/Checkpoint folder .*nope does not exist/)
  })
})

describe('reading a bad checkpoint folder names the file and the problem', () => {
  const damaged = (damage: (dir: string) => void): string => {
    const dir = join(freshDir(), 'ckpt')
    writeCheckpoint(dir, sampleParts())
    damage(dir)
    return dir
  }
  const replaceConfig = (dir: string, config: object): void => writeFileSync(join(dir, 'config.json'), JSON.stringify(config))

  it.each([
    [
      'a missing folder',
      (dir: string) => rmSync(dir, { recursive: true }),
      /^Checkpoint folder .*ckpt does not exist; check the path\.$/,
    ],
    [
      'a file instead of a folder',
      (dir: string) => {
        rmSync(dir, { recursive: true })
        writeFileSync(dir, 'x')
      },
      /ckpt is a file, not a checkpoint folder/,
    ],
    [
      'a missing config.json',
      (dir: string) => rmSync(join(dir, 'config.json')),
      /ckpt\/config\.json is missing: a checkpoint folder holds config\.json, model\.safetensors and tokenizer\.json/,
    ],
    [
      'config.json that is not JSON',
      (dir: string) => writeFileSync(join(dir, 'config.json'), '{"model_type": '),
      /ckpt\/config\.json is not valid JSON \(/,
    ],
    [
      'config.json that is a list',
      (dir: string) => writeFileSync(join(dir, 'config.json'), '[]'),
      /ckpt\/config\.json holds \[\], not a JSON object/,
    ],
    [
      'config.json without model_type',
      (dir: string) => replaceConfig(dir, { vocab_size: 4 }),
      /ckpt\/config\.json has no "model_type" naming the architecture \(supported: "cwb-gpt"\)/,
    ],
    [
      'an unsupported model_type',
      (dir: string) => replaceConfig(dir, { model_type: 'gpt2' }),
      /ckpt\/config\.json has model_type "gpt2", which this workbench cannot load; supported: "cwb-gpt"/,
    ],
    [
      'a missing model.safetensors',
      (dir: string) => rmSync(join(dir, 'model.safetensors')),
      /ckpt\/model\.safetensors is missing/,
    ],
    [
      'a truncated model.safetensors',
      (dir: string) => truncateSync(join(dir, 'model.safetensors'), statSync(join(dir, 'model.safetensors')).size - 4),
      /ckpt\/model\.safetensors: tensor "norm\.weight" has data_offsets \[32, 40\] past the end of the 36-byte data: the file is truncated/,
    ],
    [
      'weights of another shape than the config needs',
      (dir: string) => replaceConfig(dir, { model_type: 'cwb-gpt', vocab_size: 5, hidden_size: 2 }),
      /model\.safetensors does not match config\.json \(model_type "cwb-gpt"\): weights 1 with the wrong shape: embed\.weight is \[4, 2\], the config needs \[5, 2\]\./,
    ],
    [
      'weights missing and unexpected',
      (dir: string) =>
        writeSafetensors(join(dir, 'model.safetensors'), {
          'embed.weight': { dtype: 'F32', shape: [4, 2], data: new Float32Array(8) },
          'lm_head.weight': { dtype: 'F32', shape: [2, 4], data: new Float32Array(8) },
        }),
      /weights 1 missing: norm\.weight; 1 unexpected: lm_head\.weight\./,
    ],
    ['a missing tokenizer.json', (dir: string) => rmSync(join(dir, 'tokenizer.json')), /ckpt\/tokenizer\.json is missing/],
    [
      'tokenizer.json that is not JSON',
      (dir: string) => writeFileSync(join(dir, 'tokenizer.json'), 'WordLevel'),
      /ckpt\/tokenizer\.json is not valid JSON/,
    ],
    [
      'trainer_state.json that is not JSON',
      (dir: string) => writeFileSync(join(dir, 'trainer_state.json'), '{"step": 10,'),
      /ckpt\/trainer_state\.json is not valid JSON/,
    ],
    [
      'tokenizer_config.json that is not JSON',
      (dir: string) => writeFileSync(join(dir, 'tokenizer_config.json'), ''),
      /ckpt\/tokenizer_config\.json is not valid JSON/,
    ],
  ])('%s', (_, damage, message) => {
    const dir = damaged(damage)
    expect(() => readCheckpoint(dir, options)).toThrow(message)
  })

  it('lists only the first five weights when many are missing', () => {
    const dir = damaged((folder) => replaceConfig(folder, { model_type: 'cwb-gpt', vocab_size: 4, hidden_size: 2 }))
    const manyLayers = (config: ModelConfig): Record<string, number[]> => ({
      ...expectedWeights(config),
      ...Object.fromEntries(Array.from({ length: 7 }, (_, layer) => [`layers.${layer}.weight`, [2, 2]])),
    })
    expect(() => readCheckpoint(dir, { ...options, expectedWeights: manyLayers })).toThrow(
      'weights 7 missing (first 5: layers.0.weight, layers.1.weight, layers.2.weight, layers.3.weight, layers.4.weight).',
    )
  })

  it('refuses an extra tensor file that was asked for but is absent', () => {
    const dir = damaged((folder) => rmSync(join(folder, 'optimizer.safetensors')))
    expect(() => readCheckpoint(dir, { ...options, extraTensors: ['optimizer.safetensors'] })).toThrow(
      /ckpt\/optimizer\.safetensors is missing, and it was asked for\. Resume from a checkpoint that has it\./,
    )
  })

  it('points at the previous version when a replacement was cut off between its two renames', () => {
    const parent = freshDir()
    writeCheckpoint(join(parent, 'ckpt'), sampleParts())
    renameSync(join(parent, 'ckpt'), join(parent, '.ckpt.old-1-abcd'))
    expect(() => readCheckpoint(join(parent, 'ckpt'), options)).toThrow(
      `Checkpoint folder ${join(parent, 'ckpt')} is missing; an interrupted save left its previous version at ${join(parent, '.ckpt.old-1-abcd')}: rename it back.`,
    )
  })
})

describe('writing a checkpoint is atomic', () => {
  it('replaces an earlier checkpoint whole and leaves no hidden folders behind', () => {
    const parent = freshDir()
    const dir = join(parent, 'ckpt')
    writeCheckpoint(dir, sampleParts(1))
    const { config, weights, tokenizer } = sampleParts(2)
    writeCheckpoint(dir, { config, weights, tokenizer })
    const checkpoint = readCheckpoint(dir, options)
    expect(checkpoint.config.version).toBe(2)
    expect(values(checkpoint.weights['embed.weight']?.data).at(-1)).toBe(2)
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json'])
    expect(readdirSync(parent)).toEqual(['ckpt'])
  })

  it('leaves the previous checkpoint intact and no temporary folder when a write fails midway', () => {
    const parent = freshDir()
    const dir = join(parent, 'ckpt')
    writeCheckpoint(dir, sampleParts(1))
    const before = listCheckpointFiles(dir).map(({ name }) => [name, readFileSync(join(dir, name)).toString('base64')])
    const broken = sampleParts(2)
    // The teacher is written last, after the config, the weights and the optimizer state.
    broken.extraTensors!['teacher.safetensors'] = { 'norm.weight': { dtype: 'F32', shape: [3], data: new Float32Array(2) } }
    expect(() => writeCheckpoint(dir, broken)).toThrow(
      /^Cannot write checkpoint .*ckpt; the folder is unchanged\. Cannot save tensor "norm\.weight" to .*teacher\.safetensors: shape \[3\] holds 3 values but the data has 2\.$/,
    )
    expect(listCheckpointFiles(dir).map(({ name }) => [name, readFileSync(join(dir, name)).toString('base64')])).toEqual(before)
    expect(readdirSync(parent)).toEqual(['ckpt'])
  })

  it('refuses to replace a folder that is not a checkpoint, or a file', () => {
    const parent = freshDir()
    mkdirSync(join(parent, 'notes'))
    writeFileSync(join(parent, 'notes', 'todo.txt'), 'keep me')
    expect(() => writeCheckpoint(join(parent, 'notes'), sampleParts())).toThrow(
      /notes: the folder exists and is not a checkpoint \(no config\.json\), so it is left alone; choose another folder\./,
    )
    expect(readFileSync(join(parent, 'notes', 'todo.txt'), 'utf8')).toBe('keep me')
    writeFileSync(join(parent, 'file'), 'x')
    expect(() => writeCheckpoint(join(parent, 'file'), sampleParts())).toThrow(/file: a file of that name is in the way/)
    expect(readdirSync(parent).sort()).toEqual(['file', 'notes'])
  })

  it('refuses a config without model_type and extra tensor files with unusable names', () => {
    const dir = join(freshDir(), 'ckpt')
    const parts = sampleParts()
    expect(() => writeCheckpoint(dir, { ...parts, config: { vocab_size: 4 } as unknown as ModelConfig })).toThrow(
      /config\.json needs a "model_type" string/,
    )
    for (const [file, problem] of [
      ['../optimizer.safetensors', 'it must be a plain file name inside the checkpoint folder'],
      ['optimizer.bin', 'it must end with .safetensors'],
      ['model.safetensors', 'model.safetensors holds the weights; pick another name'],
    ]) {
      expect(() => writeCheckpoint(dir, { ...parts, extraTensors: { [file!]: {} } })).toThrow(
        `extra tensor file "${file}" is refused: ${problem}.`,
      )
    }
    expect(existsSync(dir)).toBe(false)
  })

  it('gives a reader in this process only whole checkpoints while another process rewrites the folder', async () => {
    const writer = await bundle(
      'writer',
      `import { writeFileSync } from 'node:fs'
import { writeCheckpoint } from ${FOLDER_MODULE}
const [target, done, count] = process.argv.slice(2)
const size = 65536
const filled = (version: number) => ({ dtype: 'F32' as const, shape: [size], data: new Float32Array(size).fill(version) })
for (let version = 1; version <= Number(count); version++) {
  writeCheckpoint(target!, {
    config: { model_type: 'cwb-gpt', version },
    weights: { w: filled(version) },
    tokenizer: { version },
    tokenizerConfig: { version },
    trainerState: { step: version },
    extraTensors: { 'optimizer.safetensors': { m: filled(version) } },
  })
}
writeFileSync(done!, 'done')
`,
    )
    const parent = freshDir()
    const target = join(parent, 'ckpt')
    const done = join(parent, 'done')
    const child = spawn(process.execPath, [writer, target, done, '40'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    const seen = new Set<number>()
    const mixed: string[] = []
    const deadline = Date.now() + 25_000
    while (!existsSync(done) && Date.now() < deadline) {
      if (!existsSync(target) && seen.size === 0) continue
      const checkpoint = readCheckpoint(target, { supportedModelTypes: ['cwb-gpt'], extraTensors: ['optimizer.safetensors'] })
      const weights = checkpoint.weights.w?.data as Float32Array
      const moments = checkpoint.extraTensors['optimizer.safetensors']?.m?.data as Float32Array
      const versions = [
        checkpoint.config.version,
        checkpoint.tokenizer.version,
        checkpoint.tokenizerConfig?.version,
        checkpoint.trainerState?.step,
        weights[0],
        weights.at(-1),
        moments[0],
        moments.at(-1),
      ]
      if (new Set(versions).size !== 1) mixed.push(versions.join(' '))
      seen.add(checkpoint.config.version as number)
    }
    expect(await exited, stderr).toBe(0)
    expect(mixed).toEqual([])
    expect(seen.size).toBeGreaterThan(5)
    expect(readdirSync(parent).sort()).toEqual(['ckpt', 'done'])
  })

  const canMountTmpfs = spawnSync('unshare', ['-Urm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt']).status === 0
  it.skipIf(!canMountTmpfs)(
    `keeps the previous checkpoint when the disk fills up during a write${canMountTmpfs ? '' : ' [skipped: cannot mount a tmpfs with unshare -Urm]'}`,
    async () => {
      const script = await bundle(
        'full',
        `import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { readCheckpoint, writeCheckpoint } from ${FOLDER_MODULE}
const disk = process.argv[2]!
const parts = (version: number, size: number) => ({
  config: { model_type: 'cwb-gpt', version },
  weights: { w: { dtype: 'F32' as const, shape: [size], data: new Float32Array(size).fill(version) } },
  tokenizer: { version },
})
writeCheckpoint(join(disk, 'ckpt'), parts(1, 1024))
let error = ''
try {
  writeCheckpoint(join(disk, 'ckpt'), parts(2, 1 << 20))
} catch (caught) {
  error = (caught as Error).message
}
const back = readCheckpoint(join(disk, 'ckpt'), { supportedModelTypes: ['cwb-gpt'] })
const weights = back.weights.w!.data as Float32Array
console.log(JSON.stringify({ error, version: back.config.version, length: weights.length, last: weights.at(-1), entries: readdirSync(disk) }))
`,
      )
      const disk = freshDir()
      const result = spawnSync(
        'unshare',
        ['-Urm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" "$3" "$1"', 'sh', disk, process.execPath, script],
        { encoding: 'utf8', timeout: 20_000 },
      )
      expect(result.status, result.stderr).toBe(0)
      const report = JSON.parse(result.stdout) as {
        error: string
        version: number
        length: number
        last: number
        entries: string[]
      }
      expect(report.error).toMatch(
        /^Cannot write checkpoint .*ckpt: the disk is full \(ENOSPC[^)]*\); the folder is unchanged and earlier checkpoints are intact\. Free space/,
      )
      expect(report).toMatchObject({ version: 1, length: 1024, last: 1, entries: ['ckpt'] })
    },
  )
})

describe('safetensors files on disk', () => {
  it('replace an earlier file whole, and a refused write leaves it as it was with no temporary file', () => {
    const dir = freshDir()
    const file = join(dir, 'teacher.safetensors')
    writeSafetensors(file, { w: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } })
    writeSafetensors(file, { w: { dtype: 'F32', shape: [1], data: new Float32Array([2]) } })
    expect(values(readSafetensors(file).tensors.w?.data)).toEqual([2])
    expect(() => writeSafetensors(file, { w: { dtype: 'F32', shape: [2], data: new Float32Array([3]) } })).toThrow(
      /Cannot save tensor "w" to .*teacher\.safetensors: shape \[2\] holds 2 values but the data has 1\./,
    )
    expect(values(readSafetensors(file).tensors.w?.data)).toEqual([2])
    expect(readdirSync(dir)).toEqual(['teacher.safetensors'])
  })

  it('name the file when it cannot be read', () => {
    const file = join(freshDir(), 'absent.safetensors')
    expect(() => readSafetensors(file)).toThrow(/^Cannot read .*absent\.safetensors: no such file or folder$/)
    expect(() => readSafetensorsHeader(file)).toThrow(/^Cannot read .*absent\.safetensors: no such file or folder$/)
  })

  it('read the header of a 3 GiB file without loading its data', () => {
    const file = join(freshDir(), 'big.safetensors')
    const header = '{"big":{"dtype":"F32","shape":[805306368],"data_offsets":[0,3221225472]}}       '
    const length = Buffer.alloc(8)
    length.writeBigUInt64LE(BigInt(header.length))
    writeFileSync(file, Buffer.concat([length, Buffer.from(header)]))
    // A sparse file: 3 GiB long, no disk used, and over the 2 GiB that Node can read into one buffer.
    truncateSync(file, 8 + header.length + 3221225472)
    expect(readSafetensorsHeader(file)).toEqual({
      tensors: { big: { dtype: 'F32', shape: [805306368], dataOffsets: [0, 3221225472] } },
      metadata: {},
      dataStart: 88,
    })
    expect(() => readSafetensors(file)).toThrow(/^Cannot read .*big\.safetensors/)
    truncateSync(file, 8 + header.length + 100)
    expect(() => readSafetensorsHeader(file)).toThrow(
      /big\.safetensors: tensor "big" has data_offsets \[0, 3221225472\] past the end of the 100-byte data/,
    )
  })
})

describe('naming a checkpoint by folder or RUN:STEP', () => {
  /** A stand-in for the run store: run "gt-baseline" (id 7) with checkpoints at steps 100 and 200, run "fresh" with none. */
  function store(parent: string): {
    lookup: (run: string, step: number) => string | undefined
    steps: (run: string) => number[] | undefined
  } {
    const runs: Record<string, Record<number, string>> = {
      'gt-baseline': { 100: join(parent, 'step-100'), 200: join(parent, 'step-200') },
      fresh: {},
    }
    runs['7'] = runs['gt-baseline']!
    for (const path of Object.values(runs['7'])) mkdirSync(path)
    return {
      lookup: (run, step) => runs[run]?.[step],
      steps: (run) => (runs[run] ? Object.keys(runs[run]).map(Number) : undefined),
    }
  }

  it('takes an existing folder as it is, even when its name looks like RUN:STEP', () => {
    const parent = freshDir()
    const { lookup, steps } = store(parent)
    mkdirSync(join(parent, 'gt-baseline:100'))
    expect(resolveCheckpoint(join(parent, 'step-200'), lookup, steps)).toBe(join(parent, 'step-200'))
    expect(resolveCheckpoint(join(parent, 'gt-baseline:100'), lookup, steps)).toBe(join(parent, 'gt-baseline:100'))
  })

  it('looks up RUN:STEP by run name or id, and RUN:latest as the highest step', () => {
    const parent = freshDir()
    const { lookup, steps } = store(parent)
    expect(resolveCheckpoint('gt-baseline:100', lookup, steps)).toBe(join(parent, 'step-100'))
    expect(resolveCheckpoint('7:0200', lookup, steps)).toBe(join(parent, 'step-200'))
    expect(resolveCheckpoint('gt-baseline:latest', lookup, steps)).toBe(join(parent, 'step-200'))
  })

  it.each([
    [
      'gt-baseline:150',
      'Run "gt-baseline" has no checkpoint at step 150; it has checkpoints at steps 100, 200. Use one of those, or gt-baseline:latest.',
    ],
    ['nobody:100', 'No run "nobody" (from nobody:100), and no folder of that name. `cwb runs` lists the runs;'],
    ['fresh:latest', 'Run "fresh" has no checkpoints yet, so fresh:latest names nothing.'],
    ['no-such-folder', 'No checkpoint folder no-such-folder. Name a checkpoint by its folder or as RUN:STEP'],
    ['gt-baseline:-1', 'No checkpoint folder gt-baseline:-1.'],
  ])('explains why %s names no checkpoint', (spec, message) => {
    const { lookup, steps } = store(freshDir())
    expect(() => resolveCheckpoint(spec, lookup, steps)).toThrow(message)
  })

  it('says when the recorded folder is gone, and when the path is a file', () => {
    const parent = freshDir()
    const { lookup, steps } = store(parent)
    rmSync(join(parent, 'step-100'), { recursive: true })
    expect(() => resolveCheckpoint('gt-baseline:100', lookup, steps)).toThrow(
      `Checkpoint gt-baseline:100 is recorded at ${join(parent, 'step-100')}, but that folder is gone (moved or deleted). Pick another step.`,
    )
    writeFileSync(join(parent, 'weights.bin'), '')
    expect(() => resolveCheckpoint(join(parent, 'weights.bin'), lookup, steps)).toThrow(
      /weights\.bin is a file, not a checkpoint folder\./,
    )
  })

  it('lists at most twenty steps', () => {
    const many = Array.from({ length: 25 }, (_, i) => (i + 1) * 10)
    expect(() =>
      resolveCheckpoint(
        'long:5',
        () => undefined,
        () => many,
      ),
    ).toThrow(
      'it has checkpoints at steps 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200 and 5 more up to 250.',
    )
  })
})
