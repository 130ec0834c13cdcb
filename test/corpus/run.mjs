// The bad-input corpus (issue 9): hundreds of malformed inputs (dataset files, run configs, checkpoint folders,
// imported logs, API requests) thrown at one `cwb serve` over HTTP, black box, plus a few CLI calls, against a
// workspace that holds a dataset, an imported run and a trained run with checkpoints. Each input must get a clear
// error (its status, and a message naming the file, row, field or problem: one regex per case), the server must
// still answer afterwards, and the store must be exactly as it was (row counts and a hash of every row).
// Prints `N passed, M failed` and exits non-zero when any case failed. Run by `npm test` after the build.
import { Buffer } from 'node:buffer'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parquetWriteBuffer } from 'hyparquet-writer'
import * as tar from 'tar'
import { call, changedTables, cwb, http, partial, root, serve, snapshot } from './harness.mjs'

const started = performance.now()
const work = mkdtempSync(join(tmpdir(), 'cwb-corpus-'))
const ws = join(work, 'ws')
const files = join(work, 'files')
const outside = join(work, 'outside')
for (const dir of [files, outside]) mkdirSync(dir, { recursive: true })
const F = (name) => join(files, name)
const jsonl = (rows) => rows.map((row) => (typeof row === 'string' ? row : JSON.stringify(row))).join('\n') + '\n'
const write = (name, content) => {
  const file = F(name)
  mkdirSync(join(file, '..'), { recursive: true })
  writeFileSync(file, content)
  return file
}
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const big = (bytes, char = 'x') => char.repeat(bytes)
const MB = 1 << 20

// ---------------------------------------------------------------------------------------------------------------
// The workspace: a dataset, an imported run, a trained run with checkpoints (through the CLI, as a user would).
function setUpWorkspace() {
  const questions = Array.from({ length: 12 }, (_, i) => ({
    question: `Sam has ${i + 2} apples and buys ${i + 3} more. How many apples does Sam have?`,
    answer: String(2 * i + 5),
    split: i < 8 ? 'train' : 'validation',
    paraphrases: [`Kim owns ${i + 2} pears and gets ${i + 3} more. How many pears does Kim own?`],
  }))
  write('seed.jsonl', jsonl(questions))
  const steps = [1, 2, 3].map(
    (step) =>
      `(TaskRunner pid=7) step:${step} - critic/score/mean:${0.1 * step} - actor/entropy:0.9 - response_length/mean:${20 + step}`,
  )
  write('good.log', `starting\n${steps.join('\n')}\n`)
  write(
    'run.json',
    JSON.stringify({
      name: 'trained',
      mode: 'majority_voting',
      dataset: 'seed',
      steps: 2,
      batch_size: 2,
      rollouts: 2,
      max_response_tokens: 4,
      validation: { every: 1, questions: 2 },
      checkpoint_every: 1,
      micro_batch_size: 8,
    }),
  )
  const setup = [
    ['import', F('seed.jsonl'), '--name', 'seed', '--workspace', ws, '--json'],
    ['import-log', F('good.log'), '--name', 'imported', '--workspace', ws, '--json'],
    ['train', '--config', F('run.json'), '--workspace', ws, '--json'],
    ['bundle', '2', '--out', F('good.tgz'), '--checkpoints', 'all', '--workspace', ws],
  ]
  for (const args of setup) {
    const result = cwb(args, { timeout: 120_000 })
    if (result.status !== 0) throw new Error(`corpus set-up: cwb ${args[0]} failed (${result.status}): ${result.message}`)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The cases. Each: a name, what it does (an HTTP call or a CLI call), the status and code it must answer with, and a
// regex its message must match. `after` may check more (that nothing was written outside, say).
const cases = []
const add = (group, name, run, expected) => cases.push({ group, name, run, ...expected })
const bad = { status: 400, code: 'invalid_request' }

function datasetFileCases() {
  const good = { question: 'What is 2 + 3?', answer: '5' }
  /** [file name, content, regex the message must match (besides the file name)] */
  const files = [
    ['empty.jsonl', '', /the file is empty/],
    ['blank-lines.jsonl', '\n \n\t\n', /no rows \(only blank lines\)/],
    ['not-json.jsonl', '{"question": "a"\n', /data row 1 \(file line 1\): not valid JSON/],
    ['truncated.jsonl', `${JSON.stringify(good)}\n{"question":"b","ans`, /data row 2 \(file line 2\): not valid JSON/],
    ['array-line.jsonl', '[1, 2]\n', /data row 1 \(file line 1\): expected one JSON object per line, got an array/],
    ['number-line.jsonl', '42\n', /data row 1 \(file line 1\): expected one JSON object per line, got number/],
    ['string-line.jsonl', '"question"\n', /data row 1 \(file line 1\): expected one JSON object per line, got string/],
    ['null-line.jsonl', 'null\n', /data row 1 \(file line 1\): expected one JSON object per line, got null/],
    [
      'whole-array.json',
      JSON.stringify([good, good]),
      /data row 1 \(file line 1\): expected one JSON object per line, got an array/,
    ],
    ['no-question.jsonl', jsonl([{ answer: '3' }]), /columns \(answer\) match no known schema/],
    [
      'question-object.jsonl',
      jsonl([{ question: { text: 'q' }, answer: '1' }]),
      /data row 1 \(file line 1\): field "question" should be text, got object/,
    ],
    [
      'question-list.jsonl',
      jsonl([{ question: ['q'], answer: '1' }]),
      /data row 1 \(file line 1\): field "question" should be text, got a list/,
    ],
    ['question-null.jsonl', jsonl([{ question: null, answer: '1' }]), /data row 1 \(file line 1\): field "question" is missing/],
    [
      'question-empty.jsonl',
      jsonl([good, { question: '  ', answer: '1' }]),
      /data row 2 \(file line 2\): field "question" is empty/,
    ],
    [
      'answer-object.jsonl',
      jsonl([{ question: 'q', answer: { value: 1 } }]),
      /data row 1 \(file line 1\): field "answer" should be text, got object/,
    ],
    [
      'answer-huge-number.jsonl',
      '{"question":"q","answer":1e400}\n',
      /data row 1 \(file line 1\): field "answer" is not a finite number/,
    ],
    [
      'bad-third-row.jsonl',
      jsonl([good, good, { question: 7.5e-3, answer: [] }]),
      /data row 3 \(file line 3\): field "answer" should be text, got a list/,
    ],
    ['nul-in-json.jsonl', '{"question":"a\u0000b","answer":"1"}\n', /data row 1 \(file line 1\): not valid JSON/],
    ['binary.jsonl', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x01]), /not UTF-8 text/],
    ['latin1.jsonl', Buffer.from('{"question":"caf\xe9 au lait?","answer":"1"}\n', 'latin1'), /not UTF-8 text/],
    ['utf16.jsonl', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(good), 'utf16le')]), /not UTF-8 text/],
    [
      'bom-no-schema.jsonl',
      `\ufeff${jsonl([{ problem: 'q', solution: '1' }])}`,
      /columns \(problem, solution\) match no known schema/,
    ],
    [
      'deep-question.jsonl',
      `{"question":${'['.repeat(100_000)}${']'.repeat(100_000)},"answer":"1"}\n`,
      /data row 1 \(file line 1\): field "question" should be text, got a list/,
    ],
    [
      'deep-extra.jsonl',
      `{"question":"q","answer":"1","meta":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}\n`,
      /data row 1 \(file line 1\): field "meta" is nested more than 64 levels deep/,
    ],
    [
      'ten-mb-question.jsonl',
      `{"question":"${big(10 * MB)}","answer":"1"}\n`,
      /data row 1 \(file line 1\): field "question" is 10485760 characters long/,
    ],
    ['ten-mb-broken-line.jsonl', `{"question":"${big(10 * MB)}`, /data row 1 \(file line 1\): not valid JSON/],
    [
      'paraphrases-number.jsonl',
      jsonl([{ ...good, paraphrases: 5 }]),
      /data row 1 \(file line 1\): field "paraphrases" should be a list, got number/,
    ],
    [
      'paraphrases-item.jsonl',
      jsonl([{ ...good, paraphrases: [42] }]),
      /data row 1 \(file line 1\): field "paraphrases\[0\]" should be text or \{text, status\}/,
    ],
    [
      'verl-prompt-number.jsonl',
      jsonl([{ prompt: 5, reward_model: { ground_truth: '1', style: 'rule' } }]),
      /data row 1 \(file line 1\): field "prompt" should be a list of \{role, content\} messages, got number/,
    ],
    [
      'verl-no-user.jsonl',
      jsonl([{ prompt: [{ role: 'system', content: 'x' }], reward_model: { ground_truth: '1' } }]),
      /data row 1 \(file line 1\): field "prompt" has no user message/,
    ],
    [
      'verl-reward-string.jsonl',
      jsonl([{ prompt: [{ role: 'user', content: 'q' }], reward_model: 'one' }]),
      /data row 1 \(file line 1\): field "reward_model" should be \{ground_truth, style\}/,
    ],
    ['pairs-missing.jsonl', jsonl([{ original_question: 'q' }]), /match no known schema|needs column/],
    ['data.txt', jsonl([good]), /cannot tell the file type from its extension/],
    ['noextension', jsonl([good]), /cannot tell the file type from its extension/],
    ['empty.csv', '', /the file is empty/],
    ['header-only.csv', 'question,answer\n', /no rows under the header/],
    ['unclosed-quote.csv', 'question,answer\n"What is 1+1?,2\n', /not valid CSV/],
    ['ragged.csv', 'question,answer\nq,1,extra\n', /data row 1 \(file line 2\): not valid CSV/],
    ['no-question.csv', 'a,b\n1,2\n', /columns \(a, b\) match no known schema/],
    ['bom-no-schema.csv', '\ufeffproblem,solution\nq,1\n', /columns \(problem, solution\) match no known schema/],
    ['binary.csv', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0xff, 0xd8, 0x00, 0x10]), /not UTF-8 text/],
    ['latin1.csv', Buffer.from('question,answer\nna\xefve?,1\n', 'latin1'), /not UTF-8 text/],
    ['empty-question.csv', 'question,answer\nq,1\n,2\n', /data row 2 \(file line 3\): field "question" is empty/],
    ['ten-mb-field.csv', `question,answer\n${big(10 * MB)},1\n`, /field "question" is 10485760 characters long/],
    ['tabs.tsv', 'question,answer\nq,1\n', /columns \(question,answer\) match no known schema/],
    ['empty.parquet', '', /the file is empty/],
    ['json.parquet', jsonl([good]), /not a readable Parquet file/],
    ['random.parquet', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), /not a readable Parquet file/],
    ['magic-only.parquet', Buffer.from('PAR1PAR1'), /not a readable Parquet file/],
  ]
  const parquet = (columns) => Buffer.from(parquetWriteBuffer({ columnData: columns }))
  const valid = parquet([
    { name: 'question', data: Array.from({ length: 50 }, (_, i) => `What is ${i} + 1?`), type: 'STRING' },
    { name: 'answer', data: Array.from({ length: 50 }, (_, i) => String(i + 1)), type: 'STRING' },
  ])
  files.push(
    ['truncated.parquet', valid.subarray(0, Math.floor(valid.length / 2)), /not a readable Parquet file/],
    ['no-footer.parquet', valid.subarray(0, valid.length - 8), /not a readable Parquet file/],
    [
      'question-int.parquet',
      parquet([
        { name: 'question', data: [[1, 2]] },
        { name: 'answer', data: ['1'], type: 'STRING' },
      ]),
      /data row 1: field "question" should be text, got a list/,
    ],
    [
      'answer-nan.parquet',
      parquet([
        { name: 'question', data: ['q'], type: 'STRING' },
        { name: 'answer', data: [Number.NaN], type: 'DOUBLE' },
      ]),
      /data row 1: field "answer" is not a finite number/,
    ],
    [
      'answer-inf.parquet',
      parquet([
        { name: 'question', data: ['q'], type: 'STRING' },
        { name: 'answer', data: [Number.POSITIVE_INFINITY], type: 'DOUBLE' },
      ]),
      /data row 1: field "answer" is not a finite number/,
    ],
    ['wrong-columns.parquet', parquet([{ name: 'text', data: ['q'], type: 'STRING' }]), /columns \(text\) match no known schema/],
  )
  // Corrupt data pages behind an intact footer: flip bytes in the middle of the column chunks.
  const flipped = Buffer.from(valid)
  for (let i = 8; i < Math.min(flipped.length - 200, 400); i++) flipped[i] ^= 0x5a
  files.push(['corrupt-pages.parquet', flipped, /rows 1-50 cannot be read|not a readable Parquet file|data row \d+: field/])

  for (const [name, content, re] of files) {
    const path = write(`data/${name}`, content)
    const named = new RegExp(`${escape(name)}[:\\s].*${re.source}`, 's')
    add('dataset files', `import ${name}`, (s) => call(s, 'datasets.import', { path, job: `corpus-${name}` }), {
      ...bad,
      re: named,
    })
  }
  // Preview reads the same files (columns and first rows only): a few that fail already there.
  for (const name of [
    'empty.jsonl',
    'not-json.jsonl',
    'binary.jsonl',
    'latin1.csv',
    'unclosed-quote.csv',
    'json.parquet',
    'truncated.parquet',
    'data.txt',
  ]) {
    const path = F(`data/${name}`)
    add('dataset files', `preview ${name}`, (s) => call(s, 'datasets.previewImport', { path }), {
      ...bad,
      re: new RegExp(escape(name)),
    })
  }
  const pair = (rows, name) => write(`data/${name}`, jsonl(rows))
  const verlRow = (q, index) => ({
    prompt: [{ role: 'user', content: q }],
    reward_model: { ground_truth: '1', style: 'rule' },
    extra_info: { index },
  })
  const original = pair([verlRow('a', 0), verlRow('b', 1)], 'pair-original.jsonl')
  const short = pair([verlRow('a2', 0)], 'pair-short.jsonl')
  const shuffled = pair([verlRow('b2', 1), verlRow('a2', 0)], 'pair-shuffled.jsonl')
  mkdirSync(F('data/folder.jsonl'))
  const others = [
    ['a folder as the file', { path: F('data/folder.jsonl') }, /folder\.jsonl: a folder, not a data file; choose a \.jsonl/],
    ['a missing file', { path: F('data/nope.jsonl') }, /nope\.jsonl: cannot read it: no such file or folder; check the path/],
    ['jsonl read as parquet', { path: F('seed.jsonl'), format: 'parquet' }, /seed\.jsonl: not a readable Parquet file/],
    ['plain read as verl', { path: F('seed.jsonl'), format: 'verl' }, /the verl format needs column prompt/],
    ['plain read as gsm8k without answers', { path: F('data/question-null.jsonl'), format: 'gsm8k' }, /question-null\.jsonl/],
    ['verl-pair without its rewrite', { path: original, format: 'verl-pair' }, /needs the rewrite file too/],
    [
      'a rewrite with fewer rows',
      { path: original, rewrite: short },
      /pair-short\.jsonl: 1 rows, but .*pair-original\.jsonl has 2/,
    ],
    [
      'a rewrite out of order',
      { path: original, rewrite: shuffled },
      /pair-shuffled\.jsonl: data row 1 \(file line 1\): field "extra_info\.index" is 1/,
    ],
    ['a rewrite of a plain file', { path: F('seed.jsonl'), rewrite: short }, /a second file is the rewrite of a verl pair/],
    [
      'a map to a missing column',
      { path: F('seed.jsonl'), map: { question: 'problem' } },
      /data row 1 \(file line 1\): field "problem" is missing/,
    ],
  ]
  for (const [name, params, re] of others)
    add('dataset files', name, (s) => call(s, 'datasets.import', { job: `corpus-${name}`, ...params }), { ...bad, re })
  add(
    'dataset files',
    'a name taken by another dataset',
    (s) => call(s, 'datasets.import', { path: F('seed.jsonl'), name: 'seed', job: 'corpus-taken' }),
    {
      status: 409,
      code: 'conflict',
      re: /dataset named "seed" already exists|already exists/,
    },
  )
}

function pathCases() {
  writeFileSync(join(outside, 'secret.jsonl'), jsonl([{ question: 'secret', answer: '1' }]))
  symlinkSync(outside, F('link-out'))
  symlinkSync(F('loop-a'), F('loop-b'))
  symlinkSync(F('loop-b'), F('loop-a'))
  const refused = (field) => ({
    ...bad,
    re: new RegExp(`^${field}: .* is outside the folders this workbench may use \\(.*\\); start it with --allow-path DIR`),
  })
  const attempts = [
    ['datasets.previewImport', { path: join(outside, 'secret.jsonl') }, 'path'],
    ['datasets.previewImport', { path: '/etc/passwd' }, 'path'],
    ['datasets.previewImport', { path: `${files}/../outside/secret.jsonl` }, 'path'],
    ['datasets.previewImport', { path: F('link-out/secret.jsonl') }, 'path'],
    ['datasets.previewImport', { path: join(outside, 'does-not-exist.jsonl') }, 'path'],
    ['datasets.import', { path: join(outside, 'secret.jsonl'), job: 'corpus-out' }, 'path'],
    ['datasets.import', { path: F('seed.jsonl'), rewrite: join(outside, 'secret.jsonl'), job: 'corpus-out2' }, 'rewrite'],
    ['datasets.export', { dataset: 1, format: 'jsonl', out: join(outside, 'export') }, 'out'],
    ['datasets.export', { dataset: 1, format: 'jsonl', out: F('link-out/export') }, 'out'],
    ['datasets.export', { dataset: 1, format: 'jsonl', out: '/' }, 'out'],
    ['runs.importLog', { path: '/proc/self/environ' }, 'path'],
    ['runs.importLog', { path: join(outside, 'secret.jsonl') }, 'path'],
    ['runs.follow', { run: 1, path: join(outside, 'x.log'), on: true }, 'path'],
    ['runs.unbundle', { path: join(outside, 'x.tgz') }, 'path'],
    ['runs.exportVerl', { run: 2, out: join(outside, 'verl'), model: 'Qwen/Qwen3-1.7B-Base' }, 'out'],
    ['checkpoints.openFolder', { path: '/etc' }, 'path'],
    ['checkpoints.openFolder', { path: F('link-out') }, 'path'],
    ['checkpoints.get', { checkpoint: outside }, 'checkpoint'],
    ['checkpoints.stats', { checkpoint: '/usr' }, 'checkpoint'],
    ['checkpoints.delta', { checkpoint: 1, against: '/usr' }, 'against'],
    ['checkpoints.exportHf', { checkpoint: 1, out: join(outside, 'hf') }, 'out'],
    ['checkpoints.exportOnnx', { checkpoint: 1, out: join(outside, 'model.onnx') }, 'out'],
    ['checkpoints.branch', { checkpoint: outside }, 'checkpoint'],
    ['checkpoints.branch', { checkpoint: 1, config: { checkpoint: outside } }, 'config.checkpoint'],
    [
      'runs.launch',
      { configs: [{ name: 'x', mode: 'majority_voting', dataset: 'seed', checkpoint: outside }] },
      'configs.0.checkpoint',
    ],
    ['paraphrases.agreement', { checkpoint: outside, records: [1], job: 'corpus-agree' }, 'checkpoint'],
    [
      'paraphrases.generate',
      { dataset: 1, job: 'corpus-gen', source: { kind: 'onnx', checkpoint: outside } },
      'source.checkpoint',
    ],
  ]
  for (const [method, params, field] of attempts)
    add('paths', `${method} ${JSON.stringify(params).slice(0, 90)}`, (s) => call(s, method, params), refused(escape(field)))
  add('paths', 'a path with a NUL byte', (s) => call(s, 'datasets.previewImport', { path: `${F('seed.jsonl')}\u0000.txt` }), {
    ...bad,
    re: /^path: the path contains a NUL character/,
  })
  add('paths', 'a symbolic link loop', (s) => call(s, 'checkpoints.openFolder', { path: F('loop-a') }), {
    ...bad,
    re: /loop-a is a symbolic link that loops/,
  })
  add(
    'paths',
    'runs.validate reports a refused checkpoint as a field issue',
    (s) => call(s, 'runs.validate', { config: { name: 'x', mode: 'majority_voting', checkpoint: outside } }),
    {
      status: 200,
      check: (r) =>
        r.json?.result?.config === null &&
        r.json.result.issues.some((i) => i.path === 'checkpoint' && /outside the folders/.test(i.message)),
    },
  )
  // Uploads: the name is only a label; the file always lands in the uploads folder under a safe name.
  const traversal = [
    '../../escaped.jsonl',
    '..\\..\\escaped.jsonl',
    '/etc/escaped.jsonl',
    '....//escaped.jsonl',
    '%2e%2e%2fescaped.jsonl',
    'a\u0000b.jsonl',
    '..',
  ]
  for (const name of traversal) {
    add(
      'paths',
      `upload named ${JSON.stringify(name)}`,
      (s) => http(s, { path: `/api/upload?name=${encodeURIComponent(name)}`, body: 'x\n' }),
      {
        status: 200,
        check: (r) => {
          const path = r.json?.result?.path ?? ''
          return path.startsWith(join(ws, 'uploads') + '/') && !path.slice(join(ws, 'uploads').length + 1).includes('/')
        },
        after: () => {
          const escaped = [
            join(ws, '..', 'escaped.jsonl'),
            join(work, 'escaped.jsonl'),
            '/etc/escaped.jsonl',
            join(tmpdir(), 'escaped.jsonl'),
          ].filter(existsSync)
          return escaped.length === 0 ? undefined : `files written outside the uploads folder: ${escaped.join(', ')}`
        },
      },
    )
  }
  add('paths', 'upload without a name', (s) => http(s, { path: '/api/upload', body: 'x' }), {
    ...bad,
    re: /Name the uploaded file: POST \/api\/upload\?name=FILE/,
  })
  add(
    'paths',
    'upload declaring 3 GB',
    (s) => http(s, { path: '/api/upload?name=big.jsonl', headers: { 'content-length': String(3 * 1024 ** 3) }, body: 'x' }),
    {
      status: 413,
      re: /uploads are limited to \d+ bytes/,
    },
  )
  for (const path of ['/etc/passwd', join(ws, 'workbench.db'), join(ws, 'exports', '..', 'workbench.db'), '../workbench.db']) {
    add('paths', `download ${path}`, (s) => http(s, { method: 'GET', path: `/api/download?path=${encodeURIComponent(path)}` }), {
      status: 403,
      re: /only files under the workspace's exports folder can be downloaded/,
    })
  }
}

function runConfigCases() {
  const base = { name: 'corpus-run', mode: 'majority_voting', dataset: 'seed' }
  /** [what, config, field the first issue must name, regex] */
  const configs = [
    ['a number', 7, '', /must be an object/],
    ['a string', 'run.json', '', /must be an object/],
    ['null', null, '', /must be an object/],
    ['an array', [base], '', /must be an object/],
    ['no mode', { name: 'x' }, 'mode', /./],
    ['an unknown mode', { ...base, mode: 'reward_everything' }, 'mode', /./],
    ['an unknown key', { ...base, learning_rat: 1e-5 }, '', /learning_rat/],
    ['an unknown nested key', { ...base, kl: { coefficient: 0.1 } }, 'kl', /coefficient/],
    ['steps as text', { ...base, steps: '10' }, 'steps', /number/],
    ['steps "NaN"', { ...base, steps: 'NaN' }, 'steps', /number/],
    ['steps "Infinity"', { ...base, steps: 'Infinity' }, 'steps', /number/],
    ['steps negative', { ...base, steps: -1 }, 'steps', /./],
    ['steps zero', { ...base, steps: 0 }, 'steps', /./],
    ['steps fractional', { ...base, steps: 1.5 }, 'steps', /must be a whole number, not 1\.5/],
    ['steps huge', { ...base, steps: 1e308 }, 'steps', /./],
    ['steps beyond 2^53', { ...base, steps: 2 ** 60 }, 'steps', /./],
    ['batch_size huge', { ...base, batch_size: 1e9 }, 'batch_size', /./],
    ['rollouts 1', { ...base, rollouts: 1 }, 'rollouts', /./],
    ['rollouts a million', { ...base, rollouts: 1e6 }, 'rollouts', /./],
    ['learning_rate "NaN"', { ...base, learning_rate: 'NaN' }, 'learning_rate', /number/],
    ['learning_rate negative', { ...base, learning_rate: -1e-5 }, 'learning_rate', /./],
    ['learning_rate 1e308', { ...base, learning_rate: 1e308 }, 'learning_rate', /./],
    ['temperature 0', { ...base, temperature: 0 }, 'temperature', /./],
    ['top_p 2', { ...base, top_p: 2 }, 'top_p', /./],
    ['max_response_tokens 1e9', { ...base, max_response_tokens: 1e9 }, 'max_response_tokens', /./],
    ['seed negative', { ...base, seed: -1 }, 'seed', /./],
    ['seed beyond 2^31', { ...base, seed: 2 ** 40 }, 'seed', /./],
    ['adam_betas not a pair', { ...base, adam_betas: [0.9] }, 'adam_betas', /./],
    ['adam_betas as text', { ...base, adam_betas: '0.9,0.999' }, 'adam_betas', /./],
    ['kl as text', { ...base, kl: 'x' }, 'kl', /./],
    ['kl.coef as text', { ...base, kl: { coef: 'a' } }, 'kl.coef', /number/],
    ['validation as a list', { ...base, validation: [] }, 'validation', /./],
    ['validation.questions huge', { ...base, validation: { questions: 1e12 } }, 'validation.questions', /./],
    ['ema on a non-teacher mode', { ...base, ema: { alpha_start: 0.5 } }, 'ema', /co_rewarding_ii/],
    ['ema.alpha_start 2', { ...base, mode: 'co_rewarding_ii', ema: { alpha_start: 2 } }, 'ema.alpha_start', /./],
    ['a dataset that does not exist', { ...base, dataset: 'nowhere' }, 'dataset', /no dataset "nowhere"/],
    ['a dataset as a number', { ...base, dataset: 1 }, 'dataset', /string|text/i],
    ['an empty dataset name', { ...base, dataset: '' }, 'dataset', /./],
    ['a split that does not exist', { ...base, train_split: 'nowhere' }, 'train_split', /nowhere/],
    [
      'a checkpoint RUN:STEP that does not exist',
      { ...base, checkpoint: 'trained:999' },
      'checkpoint',
      /no checkpoint at step 999/,
    ],
    ['a checkpoint of no run', { ...base, checkpoint: 'ghost:1' }, 'checkpoint', /No run "ghost"/],
    ['a name of 300 characters', { ...base, name: big(300) }, 'name', /./],
    ['an empty name', { ...base, name: '' }, 'name', /./],
    ['nested garbage', { ...base, collapse: { min_steps: { deep: [[[{}]]] } } }, 'collapse.min_steps', /./],
    ['a prototype key', JSON.parse(`{"name":"x","mode":"majority_voting","__proto__":{"steps":5}}`), '', /__proto__/],
    ['a huge string', { ...base, extractor: big(500_000) }, 'extractor', /./],
  ]
  for (const [what, config, field, re] of configs) {
    const path = field ? `configs\\.0\\.${escape(field)}` : 'configs\\.0'
    add('run configs', `launch: ${what}`, (s) => call(s, 'runs.launch', { configs: [config] }), {
      ...bad,
      re: new RegExp(`(${path}\\b.*${re.source})|(${re.source}.*${path})`, 'is'),
    })
  }
  // Built as text: JSON.stringify itself cannot nest this deep.
  const deep = `{"name":"x","mode":"majority_voting","extra":${'['.repeat(50_000)}${']'.repeat(50_000)}}`
  add('run configs', 'launch: deep nesting', (s) => call(s, 'runs.launch', `{"configs":[${deep}]}`), {
    ...bad,
    re: /configs\.0.*extra/s,
  })
  // The form validates as the user types: issues, not an error, and nothing queued.
  for (const [what, config, field] of configs.filter((c) => c[2] !== '').slice(0, 12)) {
    add('run configs', `validate: ${what}`, (s) => call(s, 'runs.validate', { config }), {
      status: 200,
      check: (r) =>
        r.json?.result?.config === null && r.json.result.issues.some((i) => i.path === field || i.path.startsWith(`${field}.`)),
    })
  }
  add(
    'run configs',
    'launch: one good config and one bad one queues neither',
    (s) => call(s, 'runs.launch', { configs: [base, { ...base, steps: -5 }] }),
    {
      ...bad,
      re: /configs\.1\.steps/,
    },
  )
  add('run configs', 'launch: no configs', (s) => call(s, 'runs.launch', { configs: [] }), { ...bad, re: /configs/ })
  add('run configs', 'launch: 257 configs', (s) => call(s, 'runs.launch', { configs: Array(257).fill(base) }), {
    ...bad,
    re: /configs/,
  })
  add(
    'run configs',
    'branch: a bad config over a checkpoint',
    (s) => call(s, 'checkpoints.branch', { checkpoint: 1, config: { steps: 'many' } }),
    {
      ...bad,
      re: /Nothing was branched: config\.steps/,
    },
  )
  add('run configs', 'branch: an unknown key', (s) => call(s, 'checkpoints.branch', { checkpoint: 1, config: { warp: 9 } }), {
    ...bad,
    re: /Nothing was branched: .*warp/,
  })
  // The CLI reads run configs from files.
  const cliConfigs = [
    ['not JSON', '{"name": "x", mode: }', /run-not-json\.json.*(JSON|Unexpected)/is],
    ['an unknown key', JSON.stringify({ ...base, stepz: 3 }), /stepz/],
    ['steps "NaN"', JSON.stringify({ ...base, steps: 'NaN' }), /steps/],
    ['empty file', '', /run-empty-file\.json/],
    ['binary', Buffer.from([0, 1, 2, 0xff, 0xfe]), /run-binary\.json/],
  ]
  for (const [what, content, re] of cliConfigs) {
    const file = write(`run-${what.replace(/\W+/g, '-').replace(/^-|-$/g, '')}.json`, content)
    add('run configs', `cwb train --config: ${what}`, () => cwb(['train', '--config', file, '--workspace', ws]), {
      status: 1,
      cli: true,
      re,
    })
  }
}

function checkpointCases() {
  const model = join(root, 'resources', 'base-model')
  const folder = (name, mutate) => {
    const dir = F(`ckpt/${name}`)
    cpSync(model, dir, { recursive: true })
    mutate(dir)
    return dir
  }
  const json = (dir, file, value) => writeFileSync(join(dir, file), typeof value === 'string' ? value : JSON.stringify(value))
  const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'))
  const weights = readFileSync(join(model, 'model.safetensors'))
  const headerLength = Number(weights.readBigUInt64LE(0))
  const header = JSON.parse(weights.subarray(8, 8 + headerLength).toString('utf8'))
  const safetensors = (dir, head, data = weights.subarray(8 + headerLength)) => {
    const text = Buffer.from(typeof head === 'string' ? head : JSON.stringify(head))
    const length = Buffer.alloc(8)
    length.writeBigUInt64LE(BigInt(text.length))
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([length, text, data]))
  }
  const firstTensor = Object.keys(header).find((k) => k !== '__metadata__')
  /** [name, how to spoil a copy of the base model, regex] */
  const spoiled = [
    ['no-config', (d) => rmSync(join(d, 'config.json')), /has no config\.json/],
    ['no-weights', (d) => rmSync(join(d, 'model.safetensors')), /has no model\.safetensors/],
    ['no-tokenizer', (d) => rmSync(join(d, 'tokenizer.json')), /has no tokenizer\.json/],
    ['config-not-json', (d) => json(d, 'config.json', '{"model_type": "cwb-gpt",'), /config\.json.*(not valid JSON|JSON)/],
    ['config-empty', (d) => json(d, 'config.json', ''), /config\.json.*(empty|JSON)/],
    ['config-array', (d) => json(d, 'config.json', [config]), /config\.json.*(object|array)/],
    ['config-null', (d) => json(d, 'config.json', 'null'), /config\.json.*(object|null)/],
    ['config-binary', (d) => writeFileSync(join(d, 'config.json'), Buffer.from([0xff, 0, 0xfe, 1])), /config\.json/],
    [
      'model-type-gpt2',
      (d) => json(d, 'config.json', { ...config, model_type: 'gpt2' }),
      /model_type "gpt2", which this engine does not support; supported: /,
    ],
    ['model-type-missing', (d) => json(d, 'config.json', { ...config, model_type: undefined }), /has no "model_type"/],
    ['model-type-number', (d) => json(d, 'config.json', { ...config, model_type: 7 }), /has no "model_type"|model_type/],
    ['hidden-size-text', (d) => json(d, 'config.json', { ...config, hidden_size: 'wide' }), /hidden_size/],
    ['hidden-size-negative', (d) => json(d, 'config.json', { ...config, hidden_size: -64 }), /hidden_size/],
    ['hidden-size-huge', (d) => json(d, 'config.json', { ...config, hidden_size: 1e12 }), /hidden_size/],
    ['hidden-size-nan', (d) => json(d, 'config.json', { ...config, hidden_size: 'NaN' }), /hidden_size/],
    ['vocab-zero', (d) => json(d, 'config.json', { ...config, vocab_size: 0 }), /vocab_size/],
    ['heads-not-dividing', (d) => json(d, 'config.json', { ...config, num_attention_heads: 7 }), /num_attention_heads|heads/],
    ['layers-huge', (d) => json(d, 'config.json', { ...config, num_hidden_layers: 1e9 }), /num_hidden_layers/],
    ['shapes-differ', (d) => json(d, 'config.json', { ...config, intermediate_size: config.intermediate_size * 2 }), /shape|\[/],
    ['weights-empty', (d) => writeFileSync(join(d, 'model.safetensors'), ''), /model\.safetensors/],
    ['weights-4-bytes', (d) => writeFileSync(join(d, 'model.safetensors'), Buffer.from([1, 2, 3, 4])), /model\.safetensors/],
    [
      'weights-header-huge',
      (d) => {
        const length = Buffer.alloc(8)
        length.writeBigUInt64LE(2n ** 60n)
        writeFileSync(join(d, 'model.safetensors'), Buffer.concat([length, Buffer.from('{}')]))
      },
      /model\.safetensors/,
    ],
    ['weights-header-not-json', (d) => safetensors(d, '{"a": [1, 2'), /model\.safetensors/],
    ['weights-header-array', (d) => safetensors(d, '[1, 2, 3]'), /model\.safetensors/],
    [
      'weights-dtype-unknown',
      (d) => safetensors(d, { ...header, [firstTensor]: { ...header[firstTensor], dtype: 'Q4_K' } }),
      /model\.safetensors|Q4_K|dtype/,
    ],
    [
      'weights-offsets-beyond',
      (d) => safetensors(d, { ...header, [firstTensor]: { ...header[firstTensor], data_offsets: [0, 1e12] } }),
      /model\.safetensors|offset/,
    ],
    [
      'weights-truncated',
      (d) => writeFileSync(join(d, 'model.safetensors'), weights.subarray(0, Math.floor(weights.length / 2))),
      /model\.safetensors/,
    ],
    [
      'weights-missing-tensor',
      (d) => {
        const rest = { ...header }
        delete rest[firstTensor]
        safetensors(d, rest)
      },
      /model\.safetensors: there is a gap of \d+ unclaimed bytes|is missing/,
    ],
    ['tokenizer-not-json', (d) => json(d, 'tokenizer.json', '{"model": '), /tokenizer\.json/],
    [
      'config-is-a-folder',
      (d) => {
        rmSync(join(d, 'config.json'))
        mkdirSync(join(d, 'config.json'))
      },
      /config\.json/,
    ],
    [
      'config-link-loop',
      (d) => {
        rmSync(join(d, 'config.json'))
        symlinkSync(join(d, 'config.json'), join(d, 'config.json'))
      },
      /config\.json/,
    ],
  ]
  for (const [name, mutate, re] of spoiled) {
    const dir = folder(name, mutate)
    const named = new RegExp(`${escape(name)}.*${re.source}|${re.source}.*${escape(name)}`, 's')
    add('checkpoint folders', `open ${name}`, (s) => call(s, 'checkpoints.openFolder', { path: dir }), { ...bad, re: named })
  }
  // Other methods that load a folder must refuse it as clearly (and branch must queue nothing).
  for (const name of ['model-type-llama', 'weights-truncated', 'shapes-differ', 'no-weights']) {
    const dir = F(`ckpt/${name}`)
    add('checkpoint folders', `branch from ${name}`, (s) => call(s, 'checkpoints.branch', { checkpoint: dir }), {
      ...bad,
      re: new RegExp(escape(name)),
    })
    add(
      'checkpoint folders',
      `launch from ${name}`,
      (s) => call(s, 'runs.launch', { configs: [{ name: 'x', mode: 'majority_voting', dataset: 'seed', checkpoint: dir }] }),
      {
        ...bad,
        re: new RegExp(`configs\\.0\\.checkpoint.*${escape(name)}`, 's'),
      },
    )
  }
  for (const name of ['weights-truncated', 'weights-header-not-json', 'weights-empty']) {
    const dir = F(`ckpt/${name}`)
    add('checkpoint folders', `stats of ${name}`, (s) => call(s, 'checkpoints.stats', { checkpoint: dir }), {
      ...bad,
      re: new RegExp(`${escape(name)}.*model\\.safetensors|model\\.safetensors.*${escape(name)}`, 's'),
    })
  }
  add('checkpoint folders', 'open a file', (s) => call(s, 'checkpoints.openFolder', { path: F('seed.jsonl') }), {
    ...bad,
    re: /seed\.jsonl is a file; open a checkpoint folder/,
  })
  add('checkpoint folders', 'open a missing folder', (s) => call(s, 'checkpoints.openFolder', { path: F('ckpt/nowhere') }), {
    status: 404,
    code: 'not_found',
    re: /No folder .*nowhere/,
  })
  add('checkpoint folders', 'an id that does not exist', (s) => call(s, 'checkpoints.get', { checkpoint: 999 }), {
    status: 404,
    code: 'not_found',
    re: /no checkpoint with id 999/,
  })
  add('checkpoint folders', 'RUN:STEP of no step', (s) => call(s, 'checkpoints.get', { checkpoint: 'trained:77' }), {
    ...bad,
    re: /has no checkpoint at step 77/,
  })
  add('checkpoint folders', 'an id of 0', (s) => call(s, 'checkpoints.get', { checkpoint: 0 }), { ...bad, re: /checkpoint/ })
  add(
    'checkpoint folders',
    'export to a folder that holds files',
    (s) => call(s, 'checkpoints.exportHf', { checkpoint: 1, out: F('ckpt/no-config') }),
    { status: 409, code: 'conflict', re: /no-config: it exists and is not an empty folder/ },
  )
  add(
    'checkpoint folders',
    'the teacher of a run without one',
    (s) => call(s, 'checkpoints.stats', { checkpoint: 1, weights: 'teacher' }),
    { status: 409, code: 'conflict', re: /trained:1 has no EMA teacher \(teacher\.safetensors\)/ },
  )
  add(
    'checkpoint folders',
    'tag: a computed tag by hand',
    (s) => call(s, 'checkpoints.tag', { checkpoint: 1, add: ['best-gt'] }),
    { ...bad, re: /best-gt/ },
  )
  add('checkpoint folders', 'tag: a 65-character tag', (s) => call(s, 'checkpoints.tag', { checkpoint: 1, add: [big(65)] }), {
    ...bad,
    re: /add\.0/,
  })
}

function logCases() {
  const console = [
    ['garbage.log', 'INFO starting\nWARNING something\nno steps here\n', /no step lines/],
    ['empty.log', '', /is empty|no step lines/],
    ['binary.log', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 31) % 256)), /binary/],
    ['no-newline.log', 'step:1 - critic/score/mean:0.5', /no step lines|no complete line/],
    ['giant-line.log', `${big(10 * MB)}\n`, /no step lines/],
    ['giant-no-newline.log', big(10 * MB), /no step lines|no complete line/],
    ['step-not-number.log', 'step:abc - critic/score/mean:0.5\n', /no step lines/],
    ['step-huge.log', 'step:99999999999999999999 - critic/score/mean:0.5\n', /line 1: step \d+ is out of range/],
    ['values-garbage.log', 'step:1 - critic/score/mean:banana - actor/entropy:\n', /no step lines/],
    ['utf16.log', Buffer.from('step:1 - critic/score/mean:0.5\n', 'utf16le'), /binary|no step lines/],
  ]
  for (const [name, content, re] of console) {
    const path = write(`logs/${name}`, content)
    add('imported logs', `verl console ${name}`, (s) => call(s, 'runs.importLog', { path }), {
      ...bad,
      re: new RegExp(`${escape(name)}.*${re.source}`, 's'),
    })
  }
  const trl = [
    ['not-json', '{"log_history": [', /not valid JSON/],
    ['array', '[1, 2]', /no "log_history" list/],
    ['no-history', '{"global_step": 3}', /no "log_history" list/],
    ['history-object', '{"log_history": {"step": 1}}', /no "log_history" list/],
    ['entry-number', '{"log_history": [5]}', /log_history\[0\] is not an object/],
    ['entry-null', '{"log_history": [{"step": 1, "loss": 0.5}, null]}', /log_history\[1\] is not an object/],
    [
      'step-text',
      '{"log_history": [{"step": "one", "loss": 0.5}]}',
      /log_history\[0\]: field "step" should be a whole number, got "one"/,
    ],
    ['step-fraction', '{"log_history": [{"step": 1.5, "loss": 0.5}]}', /field "step" should be a whole number, got 1\.5/],
    ['step-negative', '{"log_history": [{"step": -3, "loss": 0.5}]}', /field "step" should be a whole number/],
    ['step-huge', '{"log_history": [{"step": 1e300, "loss": 0.5}]}', /field "step" should be a whole number/],
    ['empty-history', '{"log_history": []}', /no steps found/],
    ['binary', Buffer.from([0x1f, 0x8b, 8, 0, 0xff, 0xfe, 0, 0]), /not valid JSON/],
    ['empty', '', /not valid JSON|is empty/],
    ['deep', `{"log_history": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, /log_history\[0\] is not an object/],
  ]
  for (const [name, content, re] of trl) {
    const path = write(`trl/${name}/trainer_state.json`, content)
    add('imported logs', `TRL ${name}`, (s) => call(s, 'runs.importLog', { path }), {
      ...bad,
      re: new RegExp(`trl/${escape(name)}/trainer_state\\.json.*${re.source}`, 's'),
    })
  }
  const row = { input: 'Q: 1+1?', output: '\\boxed{2}', score: 1, step: 1, gts: '2' }
  const dumps = [
    ['bad-json', { '1.jsonl': '{"input": "Q"\n' }, /1\.jsonl: line 1: not valid JSON/],
    ['input-number', { '1.jsonl': jsonl([{ ...row, input: 5 }]) }, /1\.jsonl: line 1: field "input" should be text/],
    ['output-missing', { '1.jsonl': jsonl([{ ...row, output: undefined }]) }, /1\.jsonl: line 1: field "output" should be text/],
    [
      'score-text',
      { '1.jsonl': jsonl([{ ...row, score: 'high' }]) },
      /1\.jsonl: line 1: field "score" should be a number, got "high"/,
    ],
    ['second-line', { '2.jsonl': jsonl([row, '{oops}']) }, /2\.jsonl: line 2: not valid JSON/],
    ['no-dumps', { 'notes.txt': 'hello' }, /a folder without <step>\.jsonl rollout dumps/],
    ['binary-dump', { '1.jsonl': Buffer.from([0xff, 0xfe, 0xfd, 0x0a]) }, /1\.jsonl: line 1: not valid JSON/],
  ]
  for (const [name, contents, re] of dumps) {
    for (const [file, content] of Object.entries(contents)) write(`dumps/${name}/${file}`, content)
    const path = F(`dumps/${name}`)
    add('imported logs', `verl dumps ${name}`, (s) => call(s, 'runs.importLog', { path }), { ...bad, re })
  }
  mkdirSync(F('dumps/empty'), { recursive: true })
  add('imported logs', 'verl dumps: an empty folder', (s) => call(s, 'runs.importLog', { path: F('dumps/empty') }), {
    ...bad,
    re: /a folder without <step>\.jsonl rollout dumps/,
  })
  add('imported logs', 'a missing log', (s) => call(s, 'runs.importLog', { path: F('logs/nope.log') }), {
    ...bad,
    re: /nope\.log: no such file or folder/,
  })
  // A copy: good.log itself is a known source of run 1, which re-imports it in its own format.
  const copy = write('logs/good-copy.log', readFileSync(F('good.log')))
  add('imported logs', 'a console log read as TRL', (s) => call(s, 'runs.importLog', { path: copy, format: 'trl' }), {
    ...bad,
    re: /good-copy\.log: not valid JSON/,
  })
  add(
    'imported logs',
    'a file read as rollout dumps',
    (s) => call(s, 'runs.importLog', { path: copy, format: 'verl-rollouts' }),
    { ...bad, re: /good-copy\.log: verl-rollouts reads a folder of <step>\.jsonl dumps, and this is a file/ },
  )
  add(
    'imported logs',
    'a format that does not exist',
    (s) => call(s, 'runs.importLog', { path: F('good.log'), format: 'tensorboard' }),
    { ...bad, re: /format/ },
  )
  add('imported logs', 'both a name and a run', (s) => call(s, 'runs.importLog', { path: F('good.log'), name: 'x', run: 1 }), {
    ...bad,
    re: /give name .* or run .*, not both/,
  })
  add('imported logs', 'a run that does not exist', (s) => call(s, 'runs.importLog', { path: F('good.log'), run: 99 }), {
    status: 404,
    code: 'not_found',
    re: /No run 99/,
  })
  add(
    'imported logs',
    'garbage into an existing run',
    (s) => call(s, 'runs.importLog', { path: F('logs/garbage.log'), run: 1 }),
    { ...bad, re: /garbage\.log.*no step lines/ },
  )
  add(
    'imported logs',
    'follow a run that does not exist',
    (s) => call(s, 'runs.follow', { run: 99, path: F('good.log'), on: true }),
    { status: 404, code: 'not_found', re: /No run 99/ },
  )
  add(
    'imported logs',
    'follow an upload',
    (s) => call(s, 'runs.follow', { run: 1, path: join(ws, 'uploads', '0123456789abcdef-x.log'), on: true }),
    { ...bad, re: /an uploaded file does not grow/ },
  )
  add('imported logs', 'cwb import-log of a binary file', () => cwb(['import-log', F('logs/binary.log'), '--workspace', ws]), {
    status: 1,
    cli: true,
    re: /binary\.log.*binary/,
  })
  add(
    'imported logs',
    'cwb import-log of a TRL file with text steps',
    () => cwb(['import-log', F('trl/step-text/trainer_state.json'), '--workspace', ws]),
    { status: 1, cli: true, re: /field "step" should be a whole number/ },
  )

  // Bundles: garbage, damaged archives, archives with bad contents, and entries that try to leave the staging folder.
  const good = readFileSync(F('good.tgz'))
  const bundles = [
    [
      'random.tgz',
      Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131) % 256)),
      /random\.tgz: not a readable run bundle/,
    ],
    ['empty.tgz', Buffer.alloc(0), /empty\.tgz: (not a readable run bundle|no readable bundle\.json)/],
    ['truncated.tgz', good.subarray(0, Math.floor(good.length / 2)), /truncated\.tgz: not a readable run bundle/],
    ['text.tgz', 'not a tarball\n', /text\.tgz: not a readable run bundle/],
  ]
  for (const [name, content, re] of bundles) {
    const path = write(`bundles/${name}`, content)
    add('imported logs', `unbundle ${name}`, (s) => call(s, 'runs.unbundle', { path }), { ...bad, re })
  }
  const crafted = [
    ['no-manifest', { 'metrics.jsonl': '' }, /no readable bundle\.json/],
    ['manifest-not-json', { 'bundle.json': '{"run": ' }, /no readable bundle\.json/],
    ['manifest-wrong', { 'bundle.json': JSON.stringify({ run: { name: 5 } }) }, /bundle\.json: .+: /],
    ['manifest-array', { 'bundle.json': '[]' }, /bundle\.json: /],
  ]
  const staging = F('bundles/staging')
  for (const [name, contents, re] of crafted) {
    const dir = join(staging, name)
    mkdirSync(dir, { recursive: true })
    for (const [file, content] of Object.entries(contents)) writeFileSync(join(dir, file), content)
    const path = F(`bundles/${name}.tgz`)
    tar.create({ gzip: true, file: path, cwd: dir, sync: true }, Object.keys(contents))
    add('imported logs', `unbundle ${name}`, (s) => call(s, 'runs.unbundle', { path }), {
      ...bad,
      re: new RegExp(`${escape(name)}\\.tgz: ${re.source}`),
    })
  }
  // A tarball whose entry climbs out with ../: tar refuses to write it there, and the bundle is refused.
  const climb = join(staging, 'climb', 'a', 'b')
  mkdirSync(climb, { recursive: true })
  writeFileSync(join(staging, 'climb', 'escaped-by-tar.txt'), 'out')
  const climbing = F('bundles/climbing.tgz')
  tar.create({ gzip: true, file: climbing, cwd: climb, sync: true, preservePaths: true }, ['../../escaped-by-tar.txt'])
  add('imported logs', 'unbundle an archive with ../ entries', (s) => call(s, 'runs.unbundle', { path: climbing }), {
    ...bad,
    re: /climbing\.tgz: (not a readable run bundle|no readable bundle\.json)/,
    after: () => {
      const leaked = [
        join(ws, 'escaped-by-tar.txt'),
        join(ws, 'runs', 'escaped-by-tar.txt'),
        join(work, 'escaped-by-tar.txt'),
      ].filter(existsSync)
      return leaked.length ? `the archive wrote ${leaked.join(', ')}` : undefined
    },
  })
}

function apiCases() {
  const contract = readFileSync(join(root, 'preload', 'contract.ts'), 'utf8')
  const body = contract.slice(contract.indexOf('export const methods = {'), contract.indexOf('export type MethodName'))
  const methods = [...body.matchAll(/^ {2}'([a-z]+\.[A-Za-z]+)': \{/gm)].map((m) => m[1])
  if (methods.length < 40) throw new Error(`found only ${methods.length} API methods in preload/contract.ts`)
  for (const method of methods) {
    const named = escape(method)
    add('api', `${method}: a list for params`, (s) => call(s, method, '[]'), {
      ...bad,
      re: new RegExp(`^Invalid request to ${named}: \\(request\\): .*object`, 'i'),
    })
    add('api', `${method}: an extra field`, (s) => call(s, method, { __corpus: 1 }), {
      ...bad,
      re: new RegExp(`^Invalid request to ${named}: \\S+: `),
    })
    add('api', `${method}: a string for params`, (s) => call(s, method, '"hello"'), {
      ...bad,
      re: new RegExp(`^Invalid request to ${named}: \\(request\\): `),
    })
  }
  const unknown = ['runs.destroy', 'nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'runs.list.x', big(200, 'a')]
  for (const method of unknown)
    add('api', `unknown method ${method.slice(0, 30)}`, (s) => call(s, method, {}), {
      status: 404,
      code: 'unknown_method',
      re: /^Unknown method ".*"; see preload\/contract\.ts/,
    })
  add('api', 'a route that does not exist', (s) => http(s, { path: '/api/calls/runs.list', body: '{}' }), {
    status: 404,
    code: 'unknown_method',
    re: /No API route \/api\/calls\/runs\.list/,
  })
  add(
    'api',
    'a method name with a slash',
    (s) => http(s, { path: '/api/call/runs.list/..', body: '{}', headers: { 'content-type': 'application/json' } }),
    { status: 404, re: /No API route|no such file/ },
  )
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'])
    add('api', `${method} on a call`, (s) => http(s, { method, path: '/api/call/runs.list' }), {
      status: 405,
      code: 'invalid_request',
      re: /API calls use POST/,
    })
  const invalidJson = [
    '{',
    '{"run": }',
    'undefined',
    'NaN',
    '[1, 2',
    "{'run': 1}",
    '{"run": 1,}',
    Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
    '\u0000',
  ]
  for (const text of invalidJson)
    add('api', `invalid JSON ${JSON.stringify(String(text)).slice(0, 20)}`, (s) => call(s, 'runs.get', text), {
      ...bad,
      re: /^The request body is not valid JSON: /,
    })
  const wrongTypes = [
    ['runs.get', { run: '1' }, 'run'],
    ['runs.get', { run: 1.5 }, 'run'],
    ['runs.get', { run: -1 }, 'run'],
    ['runs.get', { run: 0 }, 'run'],
    ['runs.get', { run: 1e308 }, 'run'],
    ['runs.get', { run: null }, 'run'],
    ['runs.get', { run: [1] }, 'run'],
    ['runs.get', { run: { id: 1 } }, 'run'],
    ['runs.get', {}, 'run'],
    ['runs.get', null, '(request)'],
    ['runs.update', { run: 1, name: big(201) }, 'name'],
    ['runs.update', { run: 1, tags: 'a,b' }, 'tags'],
    ['datasets.records', { dataset: 1, limit: 1e9 }, 'limit'],
    ['datasets.records', { dataset: 1, offset: -1 }, 'offset'],
    ['datasets.records', { dataset: 1, filter: { search: big(501) } }, 'filter.search'],
    ['datasets.records', { dataset: 1, filter: { status: 'maybe' } }, 'filter.status'],
    ['datasets.records', { dataset: 1, filter: { nested: { deep: true } } }, 'filter'],
    ['datasets.update', { dataset: 1, name: '' }, 'name'],
    ['datasets.import', { path: '', job: 'x' }, 'path'],
    ['datasets.import', { path: F('seed.jsonl') }, 'job'],
    ['datasets.import', { path: F('seed.jsonl'), job: big(101) }, 'job'],
    ['datasets.import', { path: 5, job: 'x' }, 'path'],
    ['datasets.import', { path: F('seed.jsonl'), job: 'x', map: { answer: 'a' } }, 'map.question'],
    ['paraphrases.update', { paraphrase: 1, status: 'approved' }, 'status'],
    ['paraphrases.add', { record: 1, text: 7 }, 'text'],
    ['metrics.series', { runs: [], keys: ['critic/score/mean'] }, 'runs'],
    ['metrics.series', { runs: Array(65).fill(1), keys: ['x'] }, 'runs'],
    ['checkpoints.diff', { a: 1, job: 'x' }, 'b'],
    ['checkpoints.diff', { a: 1, b: 2, teacher: true, job: 'x' }, 'b'],
    ['checkpoints.evaluate', { checkpoint: 1, samples: 1e6, job: 'x' }, 'samples'],
    ['checkpoints.delete', { checkpoint: '1' }, 'checkpoint'],
    ['runs.exportVerl', { run: 2, model: '' }, 'model'],
    ['runs.exportVerl', { run: 2, model: 'm', gpus: 0 }, 'gpus'],
    ['paraphrases.generate', { dataset: 1, job: 'x', source: { kind: 'telepathy' } }, 'source.kind'],
    ['paraphrases.generate', { dataset: 1, job: 'x', source: { kind: 'endpoint', url: 'not a url', model: 'm' } }, 'source.url'],
  ]
  for (const [method, params, field] of wrongTypes)
    add('api', `${method} ${JSON.stringify(params)?.slice(0, 60)}`, (s) => call(s, method, params === null ? 'null' : params), {
      ...bad,
      re: new RegExp(`^Invalid request to ${escape(method)}: ${escape(field)}: `),
    })
  add('api', 'a 900 kB string', (s) => call(s, 'datasets.update', { dataset: 1, description: big(900_000) }), {
    ...bad,
    re: /description/,
  })
  add('api', 'JSON nested 400,000 deep', (s) => call(s, 'runs.list', `{"a":${'['.repeat(400_000)}${']'.repeat(400_000)}}`), {
    ...bad,
    re: /^Invalid request to runs\.list: (\(request\)|a): /,
  })
  add(
    'api',
    'a deep config',
    (s) =>
      call(
        s,
        'runs.validate',
        `{"config":{"name":"x","mode":"majority_voting","kl":${'{"coef":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`,
      ),
    {
      status: 200,
      check: (r) => r.json?.result?.config === null && r.json.result.issues.some((i) => i.path.startsWith('kl')),
    },
  )
  add('api', 'a body cut off mid-way', (s) => partial(s, '/api/call/runs.list'), { status: 'closed' })
  add('api', 'a 2 MB body', (s) => call(s, 'runs.list', big(2 * MB)), {
    status: 413,
    re: /request bodies are limited to 1048576 bytes/,
  })
  add('api', 'a body of 5 MB of JSON', (s) => call(s, 'runs.list', `{"a":"${big(5 * MB)}"}`), {
    status: 413,
    re: /request bodies are limited/,
  })
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])
    add('api', `content-type ${type}`, (s) => call(s, 'runs.list', '{}', { 'content-type': type }), {
      status: 415,
      code: 'invalid_request',
      re: new RegExp(`API calls send JSON: set Content-Type: application/json \\(got ${escape(type.split(';')[0])}\\)`),
    })
  // The door: what the token and Origin checks refuse (more in test/integration/serve.test.ts).
  const door = [
    ['no token', { authorization: '' }, 401],
    ['a wrong token', { authorization: 'Bearer wrong-token-123' }, 401],
    ['an empty bearer', { authorization: 'Bearer ' }, 401],
    ['basic auth', { authorization: 'Basic dXNlcjpwYXNz' }, 401],
    ['a wrong cookie', { authorization: '', cookie: 'cwb_token=nope' }, 401],
    ['a foreign Origin', { origin: 'http://evil.example' }, 403],
    ['a null Origin', { origin: 'null' }, 403],
    ['a rebinding Host', { host: 'evil.example' }, 403],
  ]
  for (const [what, headers, status] of door)
    add(
      'api',
      `door: ${what}`,
      (s) => http(s, { path: '/api/call/runs.list', headers: { 'content-type': 'application/json', ...headers }, body: '{}' }),
      {
        status,
        re: status === 401 ? /needs its access token/ : /not allowed|unexpected Host header/,
      },
    )
  add('api', 'jobs.cancel of no job', (s) => call(s, 'jobs.cancel', { job: 'never-started' }), {
    status: 200,
    check: (r) => r.json?.result?.cancelled === false,
  })
  add('api', 'a dataset that does not exist', (s) => call(s, 'datasets.get', { dataset: 999 }), {
    status: 404,
    code: 'not_found',
    re: /No dataset 999/,
  })
  add('api', 'stop a finished run', (s) => call(s, 'runs.stop', { run: 2 }), {
    status: 409,
    code: 'conflict',
    re: /Run 2 \("trained"\) is already finished; there is nothing to stop/,
  })
  add('api', 'resume a finished run', (s) => call(s, 'runs.resume', { run: 2 }), {
    status: 409,
    code: 'conflict',
    re: /has finished/,
  })
  add('api', 'export an imported run to verl', (s) => call(s, 'runs.exportVerl', { run: 1, model: 'm' }), {
    ...bad,
    re: /was imported from verl; export a local run/,
  })
}

// ---------------------------------------------------------------------------------------------------------------
async function main() {
  setUpWorkspace()
  datasetFileCases()
  pathCases()
  runConfigCases()
  checkpointCases()
  logCases()
  apiCases()
  const only = process.env.CORPUS_ONLY ? new RegExp(process.env.CORPUS_ONLY, 'i') : undefined
  const selected = only ? cases.filter((c) => only.test(`${c.group}: ${c.name}`)) : cases

  const served = await serve(['--workspace', ws, '--allow-path', files])
  const db = join(ws, 'workbench.db')
  const failures = []
  const perGroup = new Map()
  let before = snapshot(db)
  for (const item of selected) {
    const problems = []
    let result
    try {
      result = await item.run(served)
    } catch (error) {
      problems.push(`no answer: ${error.message}`)
    }
    if (result) {
      const message = String(result.message ?? '')
      if (result.status !== item.status) problems.push(`status ${result.status}, expected ${item.status}`)
      if (item.code && result.code !== item.code) problems.push(`code ${result.code}, expected ${item.code}`)
      if (item.re && !item.re.test(message)) problems.push(`message does not match ${item.re.source.slice(0, 160)}`)
      if (item.check && !item.check(result)) problems.push('the answer is not the expected one')
      if (problems.length) problems.push(`got: ${message.slice(0, 400) || result.text?.slice(0, 400)}`)
    }
    const later = item.after?.()
    if (later) problems.push(later)
    const alive = await call(served, 'app.info', {}).catch((error) => ({ status: error.message }))
    if (alive.status !== 200) problems.push(`the server no longer answers (${alive.status})`)
    const after = snapshot(db)
    const changed = changedTables(before, after)
    if (changed.length) problems.push(`the store changed: ${changed.join(', ')}`)
    before = after
    const counts = perGroup.get(item.group) ?? { passed: 0, failed: 0 }
    perGroup.set(item.group, counts)
    if (problems.length) {
      counts.failed++
      failures.push(`FAIL ${item.group}: ${item.name}\n  ${problems.join('\n  ')}`)
    } else counts.passed++
  }
  const code = await served.stop()
  if (code !== 0) failures.push(`FAIL cwb serve exited with ${code} after the corpus: ${served.stderr().slice(-2000)}`)
  const internal = served.stderr().match(/internal error: .*/g) ?? []
  for (const line of internal) failures.push(`FAIL the server logged an internal error: ${line.slice(0, 300)}`)

  for (const failure of failures) process.stdout.write(`${failure}\n`)
  for (const [group, { passed, failed }] of perGroup)
    process.stdout.write(`  ${group.padEnd(20)} ${passed} passed, ${failed} failed\n`)
  const caseFailures = [...perGroup.values()].reduce((sum, counts) => sum + counts.failed, 0)
  const passed = selected.length - caseFailures
  const failed = failures.length // every failed case, plus a server that crashed or logged an internal error
  process.stdout.write(`corpus: ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
  process.stdout.write(`${passed} passed, ${failed} failed\n`)
  return failed === 0
}

let ok = false
try {
  ok = await main()
} catch (error) {
  process.stdout.write(`corpus set-up failed: ${error.stack ?? error}\n0 passed, 1 failed\n`)
} finally {
  if (!process.env.CORPUS_KEEP) rmSync(work, { recursive: true, force: true })
  else process.stdout.write(`kept ${work}\n`)
}
process.exit(ok ? 0 : 1)
