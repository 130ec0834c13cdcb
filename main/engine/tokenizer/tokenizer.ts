// Tokenizers from a Hugging Face tokenizer.json: the demo model's WordLevel vocabulary (implemented here,
// see word-level.ts; the maintained JS library has no WordLevel model) and BPE (byte-level included), WordPiece and
// Unigram models through @huggingface/tokenizers. The chat template (chat_template.jinja beside the files, else
// tokenizer_config.json `chat_template`, a string or a list of {name, template} of which "default" is taken) is
// rendered by @huggingface/jinja with add_generation_prompt, bos/eos/pad/unk_token and raise_exception, as
// transformers' apply_chat_template does, and the text is encoded without adding special tokens again (the template
// writes them; a BOS the template doubled is dropped). Without a template the prompt is the message contents
// separated by a blank line, encoded as `tokenizer(text)` would (the post-processor's BOS, if any, added).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Template } from '@huggingface/jinja'
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers'
import { z } from 'zod'
import { detokenize, PIECE_PATTERN, pretokenize, SPACE } from './word-level'

/** The largest id, by a loop: spreading a real vocabulary (150k ids) into Math.max overflows the call stack. */
function largestId(ids: Iterable<number>): number {
  let largest = -1
  for (const id of ids) if (id > largest) largest = id
  return largest
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export interface Tokenizer {
  readonly vocabSize: number
  /** undefined when the tokenizer has no BOS (Qwen: bos_token null). */
  readonly bosTokenId: number | undefined
  readonly eosTokenId: number
  readonly padTokenId: number
  /** The id text outside the vocabulary becomes (unk_token), if the tokenizer has one. */
  readonly unkTokenId: number | undefined
  /** Whether prompts go through a chat template (false: the plain-text fallback). */
  readonly hasChatTemplate: boolean
  /** Encodes text as it is: special-token text becomes its id, nothing is added. */
  encode(text: string): number[]
  /** Text of the ids, special tokens left out. */
  decode(ids: number[]): string
  /** The prompt text for a conversation: the rendered chat template (add_generation_prompt), or the fallback. */
  chatText(messages: ChatMessage[]): string
  /** The prompt for a conversation, ready for the model to continue as the assistant. */
  chatPrompt(messages: ChatMessage[]): number[]
}

/** What loadTokenizer takes besides the two JSON files. */
export interface TokenizerOptions {
  /** The contents of chat_template.jinja; it wins over tokenizer_config.json's chat_template (as in transformers). */
  chatTemplate?: string
  /** The EOS id when tokenizer_config.json names no eos_token (e.g. generation_config.json's first eos_token_id). */
  eosTokenId?: number
}

const AddedToken = z.object({ id: z.number().int().min(0), content: z.string(), special: z.boolean().optional() })
const TokenizerJson = z.object({
  model: z.object({ type: z.string().optional() }).loose(),
  added_tokens: z.array(AddedToken).nullish(),
})

// A special token as tokenizer_config.json writes it: a string, an AddedToken object ({"content": ..., "__type":
// "AddedToken", ...}), or null for none (Qwen's bos_token).
const SpecialToken = z.union([z.string(), z.object({ content: z.string() }).loose()]).nullish()
const NamedTemplate = z.object({ name: z.string(), template: z.string() }).loose()

export const TokenizerConfig = z
  .object({
    chat_template: z.union([z.string(), z.array(NamedTemplate)]).nullish(),
    bos_token: SpecialToken,
    eos_token: SpecialToken,
    pad_token: SpecialToken,
    unk_token: SpecialToken,
  })
  .loose()
export type TokenizerConfig = z.infer<typeof TokenizerConfig>

/** The text of a special token given as a string or an AddedToken object; undefined for null or absent. */
export function specialTokenText(token: z.infer<typeof SpecialToken>): string | undefined {
  if (token === null || token === undefined) return undefined
  return typeof token === 'string' ? token : token.content
}

function fail(source: string, problem: string): never {
  throw new Error(`${source}: ${problem}`)
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The template source: chat_template.jinja's text, else the config's string, else the list's "default" entry. */
function chooseTemplate(config: TokenizerConfig, options: TokenizerOptions, source: string): string | undefined {
  if (options.chatTemplate !== undefined) return options.chatTemplate
  const template = config.chat_template
  if (template === null || template === undefined) return undefined
  if (typeof template === 'string') return template
  const chosen = template.find((t) => t.name === 'default')
  if (!chosen) {
    fail(
      source.replace(/tokenizer\.json$/, 'tokenizer_config.json'),
      `chat_template lists ${template.map((t) => JSON.stringify(t.name)).join(', ') || 'no templates'} but none named "default"`,
    )
  }
  return chosen.template
}

abstract class BaseTokenizer implements Tokenizer {
  abstract readonly vocabSize: number
  readonly bosTokenId: number | undefined
  readonly eosTokenId: number
  readonly padTokenId: number
  readonly unkTokenId: number | undefined
  readonly hasChatTemplate: boolean
  private readonly template: Template | undefined
  private readonly variables: Record<string, string>

  constructor(
    config: TokenizerConfig,
    protected readonly tokenId: (token: string) => number | undefined,
    source: string,
    options: TokenizerOptions,
  ) {
    const required = (name: string, token: string | undefined): number => {
      const id = token === undefined ? undefined : tokenId(token)
      if (id === undefined) fail(source, `${name} ${JSON.stringify(token)} is not in the vocabulary`)
      return id
    }
    const bos = specialTokenText(config.bos_token)
    const eos = specialTokenText(config.eos_token)
    const pad = specialTokenText(config.pad_token)
    const unk = specialTokenText(config.unk_token)
    if (eos !== undefined) this.eosTokenId = required('eos_token', eos)
    else if (options.eosTokenId !== undefined) this.eosTokenId = options.eosTokenId
    else fail(source, 'tokenizer_config.json names no eos_token, and the model gives no eos_token_id')
    // The demo model's bos_token is set; a tokenizer without one (Qwen) has no BOS and adds none.
    this.bosTokenId = bos === undefined ? undefined : required('bos_token', bos)
    // Padding only fills masked positions: pad_token when set, else EOS (as Hugging Face trainers do).
    this.padTokenId = pad === undefined ? this.eosTokenId : required('pad_token', pad)
    this.unkTokenId = unk === undefined ? undefined : tokenId(unk)
    this.variables = Object.fromEntries(
      Object.entries({ bos_token: bos ?? '', eos_token: eos ?? '', pad_token: pad, unk_token: unk }).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    )
    const text = chooseTemplate(config, options, source)
    this.hasChatTemplate = text !== undefined
    try {
      this.template = text === undefined ? undefined : new Template(text)
    } catch (error) {
      fail(source, `chat_template does not parse: ${(error as Error).message}`)
    }
  }

  abstract encode(text: string): number[]
  abstract decode(ids: number[]): string
  /** Encodes plain (untemplated) text the way `tokenizer(text)` does: with what the post-processor adds. */
  protected abstract encodePlain(text: string): number[]

  chatText(messages: ChatMessage[]): string {
    if (!this.template) return messages.map((m) => m.content).join('\n\n')
    return this.template.render({ ...this.variables, messages, add_generation_prompt: true })
  }

  chatPrompt(messages: ChatMessage[]): number[] {
    const text = this.chatText(messages)
    if (!this.template) return this.encodePlain(text)
    const ids = this.encode(text)
    // One BOS: the template writes it when the model wants it; a second one (bos_token written twice) goes.
    const bos = this.bosTokenId
    return bos !== undefined && ids[0] === bos && ids[1] === bos ? ids.slice(1) : ids
  }
}

/** WordLevel: special tokens first, then the word-level pieces, each looked up in the vocabulary. */
class WordLevelTokenizer extends BaseTokenizer {
  readonly vocabSize: number
  private readonly specialSplit: RegExp | undefined
  private readonly specialIds: Set<number>
  private readonly pieces: string[]

  constructor(
    private readonly vocab: Map<string, number>,
    private readonly unkId: number | undefined,
    specials: string[],
    config: TokenizerConfig,
    private readonly source: string,
    options: TokenizerOptions,
  ) {
    super(config, (token) => vocab.get(token), source, options)
    this.vocabSize = largestId(vocab.values()) + 1
    this.pieces = []
    for (const [piece, id] of vocab) this.pieces[id] = piece
    this.specialIds = new Set(specials.map((s) => vocab.get(s)!).filter((id) => id !== undefined))
    this.specialSplit = specials.length ? new RegExp(`(${specials.map(escapeRegex).join('|')})`) : undefined
  }

  encode(text: string): number[] {
    const ids: number[] = []
    const parts = this.specialSplit ? text.split(this.specialSplit) : [text]
    parts.forEach((part, index) => {
      if (index % 2 === 1 && this.specialSplit) return void ids.push(this.vocab.get(part)!)
      if (part === '') return
      for (const piece of pretokenize(part)) {
        const id = this.vocab.get(piece) ?? this.unkId
        if (id === undefined)
          fail(this.source, `the text piece ${JSON.stringify(piece)} is not in the vocabulary and there is no unk_token`)
        ids.push(id)
      }
    })
    return ids
  }

  protected encodePlain(text: string): number[] {
    return this.encode(text)
  }

  decode(ids: number[]): string {
    return detokenize(ids.filter((id) => !this.specialIds.has(id)).map((id) => this.pieces[id] ?? ''))
  }
}

/** Any model type @huggingface/tokenizers understands (BPE, WordPiece, Unigram). */
class LibraryTokenizer extends BaseTokenizer {
  readonly vocabSize: number

  constructor(
    private readonly inner: HfTokenizer,
    vocabSize: number,
    config: TokenizerConfig,
    tokenId: (token: string) => number | undefined,
    source: string,
    options: TokenizerOptions,
  ) {
    super(config, tokenId, source, options)
    this.vocabSize = vocabSize
  }

  encode(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false }).ids
  }

  protected encodePlain(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: true }).ids
  }

  decode(ids: number[]): string {
    // The library refuses an empty list; an empty completion is empty text.
    if (ids.length === 0) return ''
    return this.inner.decode(ids, { skip_special_tokens: true })
  }
}

/** tokenizer_config.json as @huggingface/tokenizers expects it: special tokens as strings, never AddedToken objects. */
function libraryConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const text = (value: unknown): unknown =>
    typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string'
      ? (value as { content: string }).content
      : value
  const config: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'chat_template') continue
    config[key] = Array.isArray(value) && key === 'additional_special_tokens' ? value.map(text) : text(value)
  }
  return config
}

/**
 * Builds a tokenizer from tokenizer.json and tokenizer_config.json contents (and chat_template.jinja's, in
 * `options`); `source` names the folder in errors.
 */
export function loadTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  source: string,
  options: TokenizerOptions = {},
): Tokenizer {
  const parsed = TokenizerJson.safeParse(tokenizerJson)
  if (!parsed.success)
    fail(`${source}/tokenizer.json`, `${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`)
  const configParsed = TokenizerConfig.safeParse(tokenizerConfig)
  if (!configParsed.success) {
    fail(
      `${source}/tokenizer_config.json`,
      `${configParsed.error.issues[0]?.path.join('.') || '(file)'}: ${configParsed.error.issues[0]?.message}`,
    )
  }
  const config = configParsed.data
  const added = parsed.data.added_tokens ?? []
  const model = parsed.data.model as { type?: string; vocab?: unknown; unk_token?: string }
  if (model.type === 'WordLevel') {
    const vocab = new Map<string, number>(Object.entries((model.vocab ?? {}) as Record<string, number>))
    for (const token of added) vocab.set(token.content, token.id)
    if (vocab.size === 0) fail(`${source}/tokenizer.json`, 'model.vocab is empty')
    const unkId = model.unk_token === undefined ? undefined : vocab.get(model.unk_token)
    return new WordLevelTokenizer(
      vocab,
      unkId,
      added.map((t) => t.content),
      config,
      `${source}/tokenizer.json`,
      options,
    )
  }
  let inner: HfTokenizer
  try {
    // The library iterates added_tokens, which a hand-written tokenizer.json may leave out.
    inner = new HfTokenizer({ ...(tokenizerJson as object), added_tokens: added }, libraryConfig(configParsed.data))
  } catch (error) {
    fail(`${source}/tokenizer.json`, `cannot load a ${model.type ?? 'tokenizer'} model: ${(error as Error).message}`)
  }
  const vocab = (model.vocab ?? {}) as Record<string, number> | [string, number][]
  const entries: [string, number][] = Array.isArray(vocab) ? vocab.map(([piece], id) => [piece, id]) : Object.entries(vocab)
  const ids = new Map(entries)
  for (const token of added) ids.set(token.content, token.id)
  return new LibraryTokenizer(
    inner,
    largestId(ids.values()) + 1,
    config,
    (token) => ids.get(token),
    `${source}/tokenizer.json`,
    options,
  )
}

/** The chat template file transformers writes beside tokenizer_config.json (since 4.47); it wins over the config's. */
export const CHAT_TEMPLATE_FILE = 'chat_template.jinja'

/**
 * Loads the tokenizer of a Hugging Face folder: tokenizer.json, tokenizer_config.json (optional) and
 * chat_template.jinja (optional). `eosTokenId` stands in when the config names no eos_token.
 */
export function loadTokenizerFolder(dir: string, options: { eosTokenId?: number } = {}): Tokenizer {
  const read = (name: string): unknown => {
    const file = join(dir, name)
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as unknown
    } catch (error) {
      throw new Error(`Cannot read ${file}: ${(error as Error).message}`, { cause: error })
    }
  }
  const templateFile = join(dir, CHAT_TEMPLATE_FILE)
  return loadTokenizer(
    read('tokenizer.json'),
    existsSync(join(dir, 'tokenizer_config.json')) ? read('tokenizer_config.json') : {},
    dir,
    { ...options, chatTemplate: existsSync(templateFile) ? readFileSync(templateFile, 'utf8') : undefined },
  )
}

/** The tokenizer.json of a WordLevel vocabulary over `pieces` (pieces as produced by word-level.ts), with special tokens first. */
export function wordLevelTokenizerJson(pieces: string[], specials: string[]): object {
  const vocab: Record<string, number> = {}
  specials.forEach((token, id) => (vocab[token] = id))
  for (const piece of pieces) if (!(piece in vocab)) vocab[piece] = Object.keys(vocab).length
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Metaspace', replacement: SPACE, prepend_scheme: 'always', split: true },
        { type: 'Split', pattern: { Regex: PIECE_PATTERN }, behavior: 'Isolated', invert: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: SPACE, prepend_scheme: 'always', split: true },
    model: { type: 'WordLevel', vocab, unk_token: specials.includes('<unk>') ? '<unk>' : undefined },
  }
}
