// Hugging Face tokenizer folders: byte-level BPE through @huggingface/tokenizers, chat templates (tokenizer_config.json's
// string or list form, chat_template.jinja) rendered as transformers' apply_chat_template renders them, special tokens
// as strings, AddedToken objects or null, and exactly one BOS in a prompt.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { promptFor } from '../../main/engine/evaluate'
import { MATH_INSTRUCTION, SYSTEM_PROMPT, systemPromptFor } from '../../main/engine/prompt'
import { loadTokenizer, loadTokenizerFolder } from '../../main/engine/tokenizer/tokenizer'
import { byteLevelBpe, CHATML_TEMPLATE, LLAMA3_TEMPLATE } from '../helpers/hf-folder'

const root = mkdtempSync(join(tmpdir(), 'cwb-hf-tokenizer-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let folders = 0

/** Writes tokenizer.json, tokenizer_config.json and (optionally) chat_template.jinja to a fresh folder. */
function folder(tokenizer: object, config: object, jinja?: string): string {
  const dir = join(root, String(folders++))
  mkdirSync(dir)
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer))
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config))
  if (jinja !== undefined) writeFileSync(join(dir, 'chat_template.jinja'), jinja)
  return dir
}

const addedToken = (content: string): object => ({
  __type: 'AddedToken',
  content,
  lstrip: false,
  normalized: false,
  rstrip: false,
  single_word: false,
  special: true,
})

// Close to Qwen2.5's template: whitespace control, a default system message, `tools`, loop.first, namespace.
const QWEN_TEMPLATE = `{%- set ns = namespace(system=false) %}
{%- if tools %}
    {{- raise_exception('tools are not used here') }}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set ns.system = true %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == "user" or (message.role == "system" and not loop.first) or message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`

describe('a Qwen-style byte-level BPE with a ChatML template (bos_token null)', () => {
  const { json, ids } = byteLevelBpe(['<|endoftext|>', '<|im_start|>', '<|im_end|>'])
  const config = {
    bos_token: null,
    eos_token: addedToken('<|im_end|>'),
    pad_token: '<|endoftext|>',
    additional_special_tokens: [addedToken('<|im_start|>'), '<|im_end|>'],
    chat_template: QWEN_TEMPLATE,
  }
  const tokenizer = loadTokenizerFolder(folder(json, config))

  it('has no BOS, takes EOS from an AddedToken object and pad_token as given', () => {
    expect(tokenizer.bosTokenId).toBeUndefined()
    expect(tokenizer.eosTokenId).toBe(ids['<|im_end|>'])
    expect(tokenizer.padTokenId).toBe(ids['<|endoftext|>'])
    expect(tokenizer.hasChatTemplate).toBe(true)
    expect(tokenizer.vocabSize).toBe(256 + 13 + 3)
  })

  it('encodes bytes and merges, and decodes back, special tokens left out', () => {
    const text = ' the step by 1+1 é'
    const encoded = tokenizer.encode(text)
    // " the" and " step" are one merge each; "é" is two bytes.
    expect(encoded.slice(0, 2)).toEqual([256 + 2, 256 + 12])
    expect(encoded.slice(-2)).toEqual([0xc3, 0xa9])
    expect(tokenizer.decode(encoded)).toBe(text)
    expect(tokenizer.decode([ids['<|im_start|>']!, ...encoded, ids['<|im_end|>']!])).toBe(text)
  })

  it('renders the template with add_generation_prompt, the math instruction as the system message (golden)', () => {
    const messages = [
      { role: 'system' as const, content: MATH_INSTRUCTION },
      { role: 'user' as const, content: '1+1?' },
    ]
    expect(tokenizer.chatText(messages)).toBe(
      "<|im_start|>system\nLet's think step by step and output the final answer within \\boxed{}.<|im_end|>\n" +
        '<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n',
    )
    const prompt = promptFor(tokenizer, systemPromptFor('qwen2'), '1+1?')
    expect(prompt).toEqual(tokenizer.chatPrompt(messages))
    expect(prompt[0]).toBe(ids['<|im_start|>'])
    expect(prompt.filter((id) => id === ids['<|im_start|>'])).toHaveLength(3)
    expect(prompt.at(-1)).toBe(tokenizer.encode('\n')[0])
    expect(tokenizer.chatText([{ role: 'user', content: 'Hi' }])).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    )
  })
})

describe('a Llama-3-style tokenizer whose post-processor adds <|begin_of_text|>', () => {
  const specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>']
  const { json, ids } = byteLevelBpe(specials, { bosPostProcessor: '<|begin_of_text|>' })
  const bos = ids['<|begin_of_text|>']!
  const config = { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', chat_template: LLAMA3_TEMPLATE }

  it('renders the template, which writes the BOS, and the prompt holds exactly one BOS (golden)', () => {
    const tokenizer = loadTokenizer(json, config, 'llama')
    expect(tokenizer.bosTokenId).toBe(bos)
    expect(tokenizer.padTokenId).toBe(ids['<|eot_id|>'])
    const messages = [
      { role: 'system' as const, content: MATH_INSTRUCTION },
      { role: 'user' as const, content: ' 1+1? ' },
    ]
    expect(tokenizer.chatText(messages)).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
        "Let's think step by step and output the final answer within \\boxed{}.<|eot_id|>" +
        '<|start_header_id|>user<|end_header_id|>\n\n1+1?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    )
    const prompt = tokenizer.chatPrompt(messages)
    expect(prompt[0]).toBe(bos)
    expect(prompt.filter((id) => id === bos)).toHaveLength(1)
    // encode() adds nothing; the post-processor's BOS is what plain text without a template gets.
    expect(tokenizer.encode(' the step')).toEqual([256 + 2, 256 + 12])
  })

  it('drops a BOS the template writes twice', () => {
    const doubled = { ...config, chat_template: '{{ bos_token }}' + LLAMA3_TEMPLATE }
    const prompt = loadTokenizer(json, doubled, 'llama').chatPrompt([{ role: 'user', content: '1+1?' }])
    expect(prompt.filter((id) => id === bos)).toEqual([bos])
    expect(prompt[0]).toBe(bos)
  })

  it('without a chat template, the prompt is the contents separated by a blank line, with the post-processor BOS', () => {
    const plain = loadTokenizer(json, { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' }, 'llama-base')
    expect(plain.hasChatTemplate).toBe(false)
    const messages = [
      { role: 'system' as const, content: 'Think.' },
      { role: 'user' as const, content: '1+1?' },
    ]
    expect(plain.chatText(messages)).toBe('Think.\n\n1+1?')
    expect(plain.chatPrompt(messages)).toEqual([bos, ...plain.encode('Think.\n\n1+1?')])
  })

  it('passes raise_exception from the template through as an error', () => {
    const strict = {
      ...config,
      chat_template:
        "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}{% endfor %}",
    }
    const tokenizer = loadTokenizer(json, strict, 'strict')
    expect(() => tokenizer.chatPrompt([{ role: 'system', content: 'x' }])).toThrow('System role not supported')
    expect(tokenizer.chatText([{ role: 'user', content: 'ok' }])).toBe('ok')
  })
})

describe('where the chat template comes from', () => {
  const { json } = byteLevelBpe(['<|endoftext|>', '<|im_start|>', '<|im_end|>'])
  const base = { bos_token: null, eos_token: '<|im_end|>' }
  const user = [{ role: 'user' as const, content: 'q' }]

  it('takes chat_template.jinja over tokenizer_config.json, and the config when the file is absent', () => {
    const both = folder(json, { ...base, chat_template: 'CONFIG {{ messages[0].content }}' }, 'FILE {{ messages[0].content }}')
    expect(loadTokenizerFolder(both).chatText(user)).toBe('FILE q')
    const configOnly = folder(json, { ...base, chat_template: 'CONFIG {{ messages[0].content }}' })
    expect(loadTokenizerFolder(configOnly).chatText(user)).toBe('CONFIG q')
    const fileOnly = folder(json, base, CHATML_TEMPLATE)
    expect(loadTokenizerFolder(fileOnly).chatText(user)).toBe('<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n')
  })

  it('takes "default" from the list form, and names the templates when there is none', () => {
    const list = [
      { name: 'tool_use', template: 'TOOLS' },
      { name: 'default', template: 'DEFAULT {{ messages[0].content }}{% if add_generation_prompt %}>{% endif %}' },
    ]
    expect(loadTokenizer(json, { ...base, chat_template: list }, 'listed').chatText(user)).toBe('DEFAULT q>')
    expect(() => loadTokenizer(json, { ...base, chat_template: [list[0]] }, 'listed')).toThrow(
      'listed/tokenizer_config.json: chat_template lists "tool_use" but none named "default"',
    )
  })

  it('takes EOS from the model when tokenizer_config.json names none, and says so when neither does', () => {
    expect(loadTokenizer(json, { chat_template: CHATML_TEMPLATE }, 'no-eos', { eosTokenId: 273 }).eosTokenId).toBe(273)
    expect(() => loadTokenizer(json, {}, 'no-eos')).toThrow('names no eos_token')
  })
})

describe('the system message per model', () => {
  it("keeps the demo's for cwb-gpt and uses the reference's math instruction for Hugging Face families", () => {
    expect(systemPromptFor('cwb-gpt')).toBe(SYSTEM_PROMPT)
    expect(SYSTEM_PROMPT).toBe('Solve it step by step and put the final answer in \\boxed{}.')
    for (const family of ['qwen2', 'qwen3', 'llama'])
      expect(systemPromptFor(family)).toBe("Let's think step by step and output the final answer within \\boxed{}.")
  })
})

describe('a vocabulary the size of a real one', () => {
  it('loads with 151,665 tokens, as Qwen2.5 and Qwen3 have (counting ids by spreading them overflowed the stack)', () => {
    const { json, ids } = byteLevelBpe(['<|endoftext|>', '<|im_start|>', '<|im_end|>'])
    const model = json.model as { vocab: Record<string, number> }
    const first = Object.keys(model.vocab).length + 3
    for (let id = first; id < 151_665; id++) model.vocab[`piece${id}`] = id
    const tokenizer = loadTokenizerFolder(
      folder(json, { bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', chat_template: QWEN_TEMPLATE }),
    )
    expect(tokenizer.vocabSize).toBe(151_665)
    expect(tokenizer.eosTokenId).toBe(ids['<|im_end|>'])
    expect(tokenizer.decode(tokenizer.encode(' the step'))).toBe(' the step')
  })
})
