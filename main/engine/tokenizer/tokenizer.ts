// Tokenizers from a Hugging Face tokenizer.json: the demo model's WordLevel vocabulary (implemented here,
// see word-level.ts; the maintained JS library has no WordLevel model) and BPE/WordPiece/Unigram models
// through @huggingface/tokenizers. The chat template (tokenizer_config.json `chat_template`, Jinja) turns
// system + user messages into the prompt.
import { Template } from '@huggingface/jinja'
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers'
import { z } from 'zod'
import { detokenize, PIECE_PATTERN, pretokenize, SPACE } from './word-level'

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export interface Tokenizer {
  readonly vocabSize: number
  readonly bosTokenId: number
  readonly eosTokenId: number
  readonly padTokenId: number
  encode(text: string): number[]
  /** Text of the ids, special tokens left out. */
  decode(ids: number[]): string
  /** The prompt for a conversation, ready for the model to continue as the assistant. */
  chatPrompt(messages: ChatMessage[]): number[]
}

const AddedToken = z.object({ id: z.number().int().min(0), content: z.string(), special: z.boolean().optional() })
const TokenizerJson = z.object({
  model: z.object({ type: z.string().optional() }).loose(),
  added_tokens: z.array(AddedToken).optional(),
})

export const TokenizerConfig = z
  .object({
    chat_template: z.string().optional(),
    // Hugging Face writes null for an absent bos or pad token (Qwen has no BOS).
    bos_token: z.string().nullish(),
    eos_token: z.string(),
    pad_token: z.string().nullish(),
  })
  .loose()
export type TokenizerConfig = z.infer<typeof TokenizerConfig>

function fail(source: string, problem: string): never {
  throw new Error(`${source}: ${problem}`)
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

abstract class BaseTokenizer implements Tokenizer {
  abstract readonly vocabSize: number
  readonly bosTokenId: number
  readonly eosTokenId: number
  readonly padTokenId: number
  private readonly template: Template | undefined

  constructor(
    protected readonly config: TokenizerConfig,
    protected readonly tokenId: (token: string) => number | undefined,
    source: string,
  ) {
    const required = (name: string, token: string | undefined): number => {
      const id = token === undefined ? undefined : tokenId(token)
      if (id === undefined) fail(source, `${name} ${JSON.stringify(token)} is not in the vocabulary`)
      return id
    }
    this.eosTokenId = required('eos_token', config.eos_token)
    this.bosTokenId = required('bos_token', config.bos_token ?? config.eos_token)
    this.padTokenId = required('pad_token', config.pad_token ?? config.eos_token)
    try {
      this.template = config.chat_template === undefined ? undefined : new Template(config.chat_template)
    } catch (error) {
      fail(source, `chat_template does not parse: ${(error as Error).message}`)
    }
  }

  abstract encode(text: string): number[]
  abstract decode(ids: number[]): string

  chatPrompt(messages: ChatMessage[]): number[] {
    const text = this.template
      ? this.template.render({
          messages,
          add_generation_prompt: true,
          bos_token: this.config.bos_token ?? '',
          eos_token: this.config.eos_token,
        })
      : messages.map((m) => m.content).join('\n')
    return this.encode(text)
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
  ) {
    super(config, (token) => vocab.get(token), source)
    this.vocabSize = Math.max(...vocab.values()) + 1
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
  ) {
    super(config, tokenId, source)
    this.vocabSize = vocabSize
  }

  encode(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false }).ids
  }

  decode(ids: number[]): string {
    // The library refuses an empty list; an empty completion is empty text.
    if (ids.length === 0) return ''
    return this.inner.decode(ids, { skip_special_tokens: true })
  }
}

/** Builds a tokenizer from tokenizer.json and tokenizer_config.json contents; `source` names the folder in errors. */
export function loadTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown, source: string): Tokenizer {
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
    )
  }
  let inner: HfTokenizer
  try {
    inner = new HfTokenizer(tokenizerJson as object, config)
  } catch (error) {
    fail(`${source}/tokenizer.json`, `cannot load a ${model.type ?? 'tokenizer'} model: ${(error as Error).message}`)
  }
  const vocab = (model.vocab ?? {}) as Record<string, number> | [string, number][]
  const entries: [string, number][] = Array.isArray(vocab) ? vocab.map(([piece], id) => [piece, id]) : Object.entries(vocab)
  const ids = new Map(entries)
  for (const token of added) ids.set(token.content, token.id)
  return new LibraryTokenizer(inner, Math.max(...ids.values()) + 1, config, (token) => ids.get(token), `${source}/tokenizer.json`)
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
