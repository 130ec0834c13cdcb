#!/usr/bin/python3
"""Float64 reference forward for Hugging Face qwen2 / qwen3 / llama folders, and a generator of tiny random ones.

Independent of the product (and of `transformers`): written from the published semantics of transformers'
modeling_qwen2.py, modeling_qwen3.py, modeling_llama.py and modeling_rope_utils.py. It serves tests and benchmarks
as an oracle only. See test/reference/README.md.

Subcommands (all output is JSON on stdout, one object per line):
  make --family F --variant V --out DIR [--seed S]   write a tiny random-init HF folder
  fixtures --out DIR [--seed S]                       write every FIXTURES pair to DIR/<family>-<variant>
  logprobs DIR --input FILE|-                         lines {"prompt_ids":[..],"response_ids":[..]} -> {"logprobs":[..]}
  batch-logprobs DIR --input FILE|-                   the same, all lines as one left-padded batch
  greedy DIR --prompt-ids 1,2,3 --max-new-tokens N    -> {"ids":[..]} (stops after the first generation_config eos id)
  make-scaled --family F --out DIR --hidden H ...     write a random-init folder of any shape (streamed, BF16 or F32)
  bench DIR [--rows 8 --prompt-len 32 ...]            float32 timings: load, KV-cached sampling, log-prob pass, peak RSS
"""

import argparse
import json
import math
import os
import struct
import resource
import statistics
import sys
import time

import numpy as np
import torch

FAMILIES = ("qwen2", "qwen3", "llama")
VARIANTS = ("f32", "bf16-qknorm", "f16-sharded-llama3", "linear-rope")
# The family/variant pairs the test fixture set builds (any pair can be made with `make`).
FIXTURES = (
    ("qwen2", "f32"),
    ("qwen3", "f32"),
    ("llama", "f32"),
    ("qwen3", "bf16-qknorm"),
    ("llama", "bf16-qknorm"),
    ("llama", "f16-sharded-llama3"),
    ("qwen2", "f16-sharded-llama3"),
    ("qwen2", "linear-rope"),
    ("qwen3", "linear-rope"),
    ("llama", "linear-rope"),
)


class ReferenceError(Exception):
    pass


# ----------------------------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, raw data.

DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


def encode_tensor(t, dtype):
    """Little-endian bytes of a float tensor in `dtype`."""
    f32 = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
    if dtype == "F32":
        return f32.tobytes()
    if dtype == "F16":
        return f32.astype("<f2").tobytes()
    if dtype == "BF16":  # bfloat16 is the top 16 bits of a float32
        return (f32.view("<u4") >> 16).astype("<u2").tobytes()
    if dtype == "F64":
        return t.detach().to(torch.float64).contiguous().numpy().astype("<f8").tobytes()
    raise ReferenceError(f"cannot write dtype {dtype}")


def write_safetensors(path, tensors, dtype):
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        data = encode_tensor(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def decode_tensor(raw, dtype, shape):
    if dtype == "F32":
        a = np.frombuffer(raw, dtype="<f4")
    elif dtype == "F64":
        a = np.frombuffer(raw, dtype="<f8")
    elif dtype == "F16":
        a = np.frombuffer(raw, dtype="<f2")
    elif dtype == "BF16":
        a = (np.frombuffer(raw, dtype="<u2").astype("<u4") << 16).view("<f4")
    else:
        raise ReferenceError(f"unsupported weight dtype {dtype}")
    return torch.from_numpy(a.astype(np.float64)).reshape(shape)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    start = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = decode_tensor(blob[start + b : start + e], info["dtype"], info["shape"])
    return out


def load_weights(folder, read=read_safetensors):
    """Every weight of the folder (one file, or the shards its index names), each file read by `read` (float64 by
    default; read_safetensors_float32 for float32)."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for name in files:
        weights.update(read(os.path.join(folder, name)))
    return weights


def merge_adapter(weights, adapter):
    """PEFT's LoRA, written from its definition: W + (lora_alpha / r) * B @ A for every adapted module, in float64."""
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        config = json.load(f)
    if config.get("peft_type") != "LORA":
        raise ReferenceError(f"{adapter}: peft_type {config.get('peft_type')!r} is not LORA")
    scale = config["lora_alpha"] / config["r"]
    tensors = read_safetensors(os.path.join(adapter, "adapter_model.safetensors"))
    merged = dict(weights)
    prefix = "base_model.model."
    for name, a in tensors.items():
        if not name.endswith(".lora_A.weight"):
            continue
        module = name[len(prefix):-len(".lora_A.weight")]
        b = tensors[f"{prefix}{module}.lora_B.weight"]
        target = f"{module}.weight"
        if target not in merged:
            raise ReferenceError(f"{adapter}: {name} adapts {target}, which the base does not have")
        if tuple(b.shape) != (merged[target].shape[0], a.shape[0]) or a.shape[1] != merged[target].shape[1]:
            raise ReferenceError(f"{adapter}: {module}: A {tuple(a.shape)} and B {tuple(b.shape)} do not fit {tuple(merged[target].shape)}")
        merged[target] = merged[target].to(torch.float64) + scale * (b.to(torch.float64) @ a.to(torch.float64))
    return merged


# ----------------------------------------------------------------------------------------------------------------
# Tokenizer: a byte-level BPE over the 256 byte symbols, a few merges and the family's special tokens.


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


MERGES = [
    ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("a", "n"), ("e", "r"), ("o", "n"), ("Ġ", "a"), ("r", "e"),
    ("a", "t"), ("e", "n"), ("Ġ", "s"), ("Ġ", "w"), ("i", "s"), ("o", "r"), ("i", "t"), ("Ġ", "c"), ("e", "s"),
    ("Ġ", "1"), ("Ġ", "2"), ("Ġ", "+"), ("Ġ", "="), ("Ġ", "o"), ("Ġ", "f"), ("Ġa", "n"), ("Ġan", "d"),
]

SPECIALS = {
    "qwen2": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "qwen3": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "llama": ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
}
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)


def tokenizer_files(family):
    """(tokenizer.json, tokenizer_config.json, special ids by name) for the family."""
    vocab = {ch: b for b, ch in sorted(bytes_to_unicode().items())}  # byte b has id b
    for a, b in MERGES:
        vocab[a + b] = len(vocab)
    specials = list(SPECIALS[family])
    if family == "llama":
        specials += ["<|start_header_id|>", "<|end_header_id|>"]
    ids = {}
    added = []
    for s in specials:
        ids[s] = len(vocab) + len(ids)
        added.append({"id": ids[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in MERGES]},
    }
    if family == "llama":
        config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": LLAMA3_TEMPLATE,
                  "model_max_length": 256, "tokenizer_class": "PreTrainedTokenizerFast"}
    else:
        config = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "chat_template": CHATML,
                  "model_max_length": 256, "tokenizer_class": "Qwen2TokenizerFast"}
    config["added_tokens_decoder"] = {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added}
    return tokenizer, config, ids


# ----------------------------------------------------------------------------------------------------------------
# Tiny random-init folders.

ARCHITECTURES = {"qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "llama": "LlamaForCausalLM"}


def variant_config(family, variant):
    """(config.json fields that differ per family/variant, stored dtype, number of shards)."""
    hidden, heads = 64, 4
    base = {
        "qwen2": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "use_sliding_window": False, "sliding_window": None},
        "qwen3": {"rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "head_dim": hidden // heads, "attention_bias": False,
                  "use_sliding_window": False, "sliding_window": None},
        "llama": {"rope_theta": 500000.0, "rms_norm_eps": 1e-5, "attention_bias": False, "mlp_bias": False},
    }[family]
    cfg = dict(base)
    if variant == "f32":
        cfg.update(rope_scaling=None, tie_word_embeddings=True)
        return cfg, "F32", 1
    if variant == "bf16-qknorm":
        cfg.update(rope_scaling=None, tie_word_embeddings=True, head_dim=32)
        return cfg, "BF16", 1
    if variant == "f16-sharded-llama3":
        cfg.update(rope_theta=10000.0, tie_word_embeddings=False,
                   rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 64})
        return cfg, "F16", 2
    if variant == "linear-rope":
        # Older `type` key; a large eps (so ignoring it shows); extra biases where the family allows them.
        cfg.update(rope_theta=10000.0, rms_norm_eps=0.05, tie_word_embeddings=False,
                   rope_scaling={"type": "linear", "factor": 2.0})
        if family == "llama":
            cfg.update(attention_bias=True, mlp_bias=True)
        if family == "qwen3":
            cfg.update(attention_bias=True)
        return cfg, "F32", 1
    raise ReferenceError(f"unknown variant {variant!r}: expected one of {', '.join(VARIANTS)}")


def make_folder(family, variant, out, seed=0):
    if family not in FAMILIES:
        raise ReferenceError(f"unknown family {family!r}: expected one of {', '.join(FAMILIES)}")
    extra, dtype, shards = variant_config(family, variant)
    tokenizer, tok_config, special = tokenizer_files(family)
    names = SPECIALS[family]
    if family == "llama":
        bos, eos, eos_list = special[names[0]], special[names[1]], [special[names[2]], special[names[1]]]
    else:
        bos, eos, eos_list = special[names[0]], special[names[0]], [special[names[2]], special[names[0]]]
    config = {
        "model_type": family,
        "architectures": [ARCHITECTURES[family]],
        "vocab_size": 300,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 96,
        "max_position_embeddings": 256,
        "hidden_act": "silu",
        "bos_token_id": bos,
        "eos_token_id": eos,
        "torch_dtype": {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}[dtype],
        "use_cache": True,
        "initializer_range": 0.02,
        "attention_dropout": 0.0,
    }
    config.update(extra)
    assert max(special.values()) < config["vocab_size"]

    g = torch.Generator().manual_seed(seed * 1000 + FAMILIES.index(family) * 10 + VARIANTS.index(variant))
    normal = lambda *shape, std: torch.randn(*shape, generator=g, dtype=torch.float64) * std  # noqa: E731
    norm_w = lambda n: 1.0 + normal(n, std=0.1)  # noqa: E731
    h, inter, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    nh, nkv = config["num_attention_heads"], config["num_key_value_heads"]
    hd = config.get("head_dim") or h // nh
    qkv_bias = family == "qwen2" or config.get("attention_bias", False)
    o_bias = family != "qwen2" and config.get("attention_bias", False)
    mlp_bias = family == "llama" and config.get("mlp_bias", False)
    w = {"model.embed_tokens.weight": normal(v, h, std=0.3)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_w(h)
        w[p + "post_attention_layernorm.weight"] = norm_w(h)
        for name, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
            w[p + f"self_attn.{name}_proj.weight"] = normal(rows, h, std=1 / math.sqrt(h))
            if qkv_bias:
                w[p + f"self_attn.{name}_proj.bias"] = normal(rows, std=0.1)
        w[p + "self_attn.o_proj.weight"] = normal(h, nh * hd, std=1 / math.sqrt(nh * hd))
        if o_bias:
            w[p + "self_attn.o_proj.bias"] = normal(h, std=0.1)
        if family == "qwen3":
            w[p + "self_attn.q_norm.weight"] = norm_w(hd)
            w[p + "self_attn.k_norm.weight"] = norm_w(hd)
        for name, shape in (("gate", (inter, h)), ("up", (inter, h)), ("down", (h, inter))):
            w[p + f"mlp.{name}_proj.weight"] = normal(*shape, std=1 / math.sqrt(shape[1]))
            if mlp_bias:
                w[p + f"mlp.{name}_proj.bias"] = normal(shape[0], std=0.1)
    w["model.norm.weight"] = norm_w(h)
    if not config["tie_word_embeddings"]:
        w["lm_head.weight"] = normal(v, h, std=0.3)

    os.makedirs(out, exist_ok=True)
    if shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), w, dtype)
    else:
        names_sorted = sorted(w)
        parts = [names_sorted[k::shards] for k in range(shards)]
        weight_map = {}
        total = 0
        for k, part in enumerate(parts):
            fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            write_safetensors(os.path.join(out, fname), {n: w[n] for n in part}, dtype)
            for n in part:
                weight_map[n] = fname
                total += w[n].numel() * DTYPE_BYTES[dtype]
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": bos, "eos_token_id": eos_list, "do_sample": False}, f, indent=2)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tok_config, f, indent=2, ensure_ascii=False)


# ----------------------------------------------------------------------------------------------------------------
# The float64 forward.


class Model:
    def __init__(self, folder, weights=None):
        with open(os.path.join(folder, "config.json")) as f:
            c = json.load(f)
        self.family = c.get("model_type")
        if self.family not in FAMILIES:
            raise ReferenceError(f"{folder}: unknown model_type {self.family!r}: expected one of {', '.join(FAMILIES)}")
        self.c = c
        self.hidden = c["hidden_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.eps = c["rms_norm_eps"]
        self.inv_freq = rope_inv_freq(c, self.head_dim, folder)
        self.w = load_weights(folder) if weights is None else weights
        # Qwen2Config, Qwen3Config and LlamaConfig all default tie_word_embeddings to false.
        if c.get("tie_word_embeddings", False):
            self.lm_head = self.w["model.embed_tokens.weight"]
        elif "lm_head.weight" in self.w:
            self.lm_head = self.w["lm_head.weight"]
        else:
            raise ReferenceError(f"{folder}: tie_word_embeddings is false but there is no lm_head.weight")
        eos = None
        gen = os.path.join(folder, "generation_config.json")
        if os.path.exists(gen):
            with open(gen) as f:
                eos = json.load(f).get("eos_token_id")
        if eos is None:
            eos = c.get("eos_token_id")
        self.eos = [] if eos is None else (list(eos) if isinstance(eos, list) else [eos])

    def get(self, name):
        return self.w.get(name)

    def forward(self, ids, mask):
        """Logits [B, T, V] in float64 for ids [B, T] (int64) and an attention mask [B, T] (1 = token, 0 = pad)."""
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cos, sin = rope_cos_sin(self.inv_freq, positions)
        x = self.w["model.embed_tokens.weight"][ids]
        for i in range(self.layers):
            p = f"model.layers.{i}."
            x = x + self.attention(rmsnorm(x, self.w[p + "input_layernorm.weight"], self.eps), p, cos, sin, mask)
            x = x + self.mlp(rmsnorm(x, self.w[p + "post_attention_layernorm.weight"], self.eps), p)
        x = rmsnorm(x, self.w["model.norm.weight"], self.eps)
        return x @ self.lm_head.T

    def attention(self, x, p, cos, sin, mask):
        b, t, _ = x.shape
        a = p + "self_attn."
        q = linear(x, self.w[a + "q_proj.weight"], self.get(a + "q_proj.bias")).view(b, t, self.heads, self.head_dim)
        k = linear(x, self.w[a + "k_proj.weight"], self.get(a + "k_proj.bias")).view(b, t, self.kv_heads, self.head_dim)
        v = linear(x, self.w[a + "v_proj.weight"], self.get(a + "v_proj.bias")).view(b, t, self.kv_heads, self.head_dim)
        if self.family == "qwen3":  # per-head RMSNorm over head_dim, before the rotation
            q = rmsnorm(q, self.w[a + "q_norm.weight"], self.eps)
            k = rmsnorm(k, self.w[a + "k_norm.weight"], self.eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, T, D]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        n_rep = self.heads // self.kv_heads  # query head h reads key/value head h // n_rep
        k, v = k.repeat_interleave(n_rep, dim=1), v.repeat_interleave(n_rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        allowed = causal[None, None] & mask.bool()[:, None, None, :]
        allowed = allowed | torch.eye(t, dtype=torch.bool)[None, None]  # pad queries see themselves (never used)
        scores = scores.masked_fill(~allowed, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v  # [B, heads, T, D]
        out = out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        return linear(out, self.w[a + "o_proj.weight"], self.get(a + "o_proj.bias"))

    def mlp(self, x, p):
        m = p + "mlp."
        gate = linear(x, self.w[m + "gate_proj.weight"], self.get(m + "gate_proj.bias"))
        up = linear(x, self.w[m + "up_proj.weight"], self.get(m + "up_proj.bias"))
        return linear(torch.nn.functional.silu(gate) * up, self.w[m + "down_proj.weight"], self.get(m + "down_proj.bias"))


def linear(x, weight, bias=None):
    y = x @ weight.T
    return y if bias is None else y + bias


def rmsnorm(x, weight, eps):
    """x * rsqrt(mean(x^2) + eps) * weight over the last axis."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope_inv_freq(c, dim, folder):
    """Inverse frequencies [dim/2], scaled as config.rope_scaling says (transformers' modeling_rope_utils)."""
    base = c.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    scaling = c.get("rope_scaling")
    if scaling is None:
        return inv_freq
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "default":
        return inv_freq
    if kind == "linear":
        return inv_freq / scaling["factor"]
    if kind == "llama3":
        factor = scaling["factor"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        old_len = scaling["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old_len / low, old_len / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_len / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, scaled)
    raise ReferenceError(f"{folder}: unsupported rope_scaling type {kind!r}: expected null, 'linear' or 'llama3'")


def rope_cos_sin(inv_freq, positions):
    freqs = positions.to(torch.float64)[..., None] * inv_freq  # [B, T, D/2]
    emb = torch.cat([freqs, freqs], dim=-1)  # [B, T, D]
    return emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, T, D]


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def log_softmax(logits):
    return torch.log_softmax(logits, dim=-1)


# ----------------------------------------------------------------------------------------------------------------
# Commands.


def read_lines(path):
    text = sys.stdin.read() if path == "-" else open(path).read()
    lines = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        item = json.loads(line)
        prompt, response = item.get("prompt_ids"), item.get("response_ids")
        if not isinstance(prompt, list) or not isinstance(response, list) or not prompt:
            raise ReferenceError(f"line {n}: needs a non-empty prompt_ids list and a response_ids list")
        lines.append((prompt, response))
    return lines


def check_ids(model, ids):
    bad = [i for i in ids if not (isinstance(i, int) and 0 <= i < model.c["vocab_size"])]
    if bad:
        raise ReferenceError(f"token ids {bad[:5]} are outside the vocabulary of {model.c['vocab_size']}")


def sequence_logprobs(model, prompt, response):
    ids = prompt + response
    check_ids(model, ids)
    t = torch.tensor([ids], dtype=torch.int64)
    lp = log_softmax(model.forward(t, torch.ones_like(t)))[0]
    return [lp[len(prompt) - 1 + i, tok].item() for i, tok in enumerate(response)]


def batch_logprobs(model, lines, pad_id=0):
    seqs = [p + r for p, r in lines]
    for s in seqs:
        check_ids(model, s)
    width = max(len(s) for s in seqs)
    ids = torch.tensor([[pad_id] * (width - len(s)) + s for s in seqs], dtype=torch.int64)
    mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], dtype=torch.int64)
    lp = log_softmax(model.forward(ids, mask))
    out = []
    for row, (s, (prompt, response)) in enumerate(zip(seqs, lines)):
        start = width - len(s) + len(prompt) - 1
        out.append([lp[row, start + i, tok].item() for i, tok in enumerate(response)])
    return out


def greedy(model, prompt, max_new):
    check_ids(model, prompt)
    ids = list(prompt)
    new = []
    for _ in range(max_new):
        t = torch.tensor([ids], dtype=torch.int64)
        nxt = int(model.forward(t, torch.ones_like(t))[0, -1].argmax().item())
        new.append(nxt)
        ids.append(nxt)
        if nxt in model.eos:
            break
    return new


# ----------------------------------------------------------------------------------------------------------------
# Full-size random folders and float32 timings, for test/bench/hf-scale.bench.ts.


def scaled_weight_shapes(family, config):
    """Tensor name -> shape for a folder of `config` (no optional biases besides Qwen2's q/k/v)."""
    h, inter, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    nh, nkv, hd = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (h,)
        shapes[p + "post_attention_layernorm.weight"] = (h,)
        for name, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
            shapes[p + f"self_attn.{name}_proj.weight"] = (rows, h)
            if family == "qwen2":
                shapes[p + f"self_attn.{name}_proj.bias"] = (rows,)
        shapes[p + "self_attn.o_proj.weight"] = (h, nh * hd)
        if family == "qwen3":
            shapes[p + "self_attn.q_norm.weight"] = (hd,)
            shapes[p + "self_attn.k_norm.weight"] = (hd,)
        for name, shape in (("gate", (inter, h)), ("up", (inter, h)), ("down", (h, inter))):
            shapes[p + f"mlp.{name}_proj.weight"] = shape
    if not config["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (v, h)
    return shapes


def make_scaled_folder(family, out, shape, dtype="BF16", tied=True, seed=0):
    """A random-init folder of any size, written one tensor at a time (memory stays at about one tensor).

    Weights are N(0, initializer_range) as transformers initialises them, norms 1 + N(0, 0.02), biases 0."""
    if family not in FAMILIES:
        raise ReferenceError(f"unknown family {family!r}: expected one of {', '.join(FAMILIES)}")
    if dtype not in ("BF16", "F32", "F16"):
        raise ReferenceError(f"cannot write dtype {dtype}: expected BF16, F32 or F16")
    extra, _, _ = variant_config(family, "f32")
    tokenizer, tok_config, special = tokenizer_files(family)
    names = SPECIALS[family]
    bos, eos = special[names[0]], special[names[2]]
    config = dict(extra)
    config.update({
        "model_type": family,
        "architectures": [ARCHITECTURES[family]],
        "vocab_size": shape["vocab"],
        "hidden_size": shape["hidden"],
        "num_hidden_layers": shape["layers"],
        "num_attention_heads": shape["heads"],
        "num_key_value_heads": shape["kv_heads"],
        "head_dim": shape["head_dim"],
        "intermediate_size": shape["intermediate"],
        "max_position_embeddings": shape["max_positions"],
        "hidden_act": "silu",
        "bos_token_id": bos,
        "eos_token_id": eos,
        "tie_word_embeddings": tied,
        "rope_scaling": None,
        "torch_dtype": {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}[dtype],
        "use_cache": True,
        "initializer_range": 0.02,
        "attention_dropout": 0.0,
    })
    shapes = scaled_weight_shapes(family, config)
    header = {}
    offset = 0
    for name in sorted(shapes):
        size = math.prod(shapes[name]) * DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shapes[name]), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    g = torch.Generator().manual_seed(seed)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in sorted(shapes):
            if name.endswith("norm.weight"):
                t = 1.0 + torch.randn(shapes[name], generator=g) * 0.02
            elif name.endswith(".bias"):
                t = torch.zeros(shapes[name])
            else:
                t = torch.randn(shapes[name], generator=g) * config["initializer_range"]
            f.write(encode_tensor(t, dtype))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": bos, "eos_token_id": [eos, special[names[0]]], "do_sample": True}, f, indent=2)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tok_config, f, indent=2, ensure_ascii=False)
    return {"dir": out, "family": family, "dtype": dtype, "parameters": sum(math.prod(s) for s in shapes.values()),
            "bytes": offset}


def read_safetensors_float32(path):
    """Like read_safetensors, in float32, reading one tensor at a time (peak memory: the weights plus one raw tensor)."""
    torch_dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
    out = {}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        start = 8 + n
        for tensor, info in header.items():
            if tensor == "__metadata__":
                continue
            if info["dtype"] not in torch_dtypes:
                raise ReferenceError(f"unsupported weight dtype {info['dtype']}")
            b, e = info["data_offsets"]
            raw = bytearray(e - b)
            f.seek(start + b)
            f.readinto(raw)
            t = torch.frombuffer(raw, dtype=torch_dtypes[info["dtype"]]).reshape(info["shape"])
            out[tensor] = t if t.dtype == torch.float32 else t.to(torch.float32)
    return out


class CachedModel(Model):
    """The same forward in float32 with a key/value cache, as transformers runs it for generation.

    Projections and the output head run as oneDNN 1x1 convolutions on weights reordered once at load (the path of
    torch.utils.mkldnn's MkldnnConv2d), which this torch build carries. Debian's python3-torch otherwise multiplies
    through whatever libblas.so.3 is installed: the reference libblas3 gives about 1 GFLOP/s, and oneDNN's own linear
    reorders its weight on every call (about 1 GFLOP/s at batch 8). The tied embedding is held twice (dense for the
    lookup, oneDNN for the head)."""

    def __init__(self, folder):
        super().__init__(folder, weights=load_weights(folder, read_safetensors_float32))
        self.inv_freq = self.inv_freq.to(torch.float32)
        for name in [n for n in self.w if "_proj." in n]:
            self.w[name] = self.to_onednn(self.w[name])
        self.lm_head = self.to_onednn(self.lm_head)

    @staticmethod
    def to_onednn(weight):
        if weight.dim() == 1:
            return weight.to_mkldnn()
        kernel = weight[:, :, None, None].contiguous().to_mkldnn()
        return torch._C._nn.mkldnn_reorder_conv2d_weight(kernel, [0, 0], [1, 1], [1, 1], 1)

    @staticmethod
    def onednn_linear(x, weight, bias=None):
        flat = x.reshape(-1, x.shape[-1])[:, :, None, None].contiguous().to_mkldnn()
        y = torch.mkldnn_convolution(flat, weight, bias, [0, 0], [1, 1], [1, 1], 1).to_dense()
        return y.view(*x.shape[:-1], -1)

    def linear(self, x, name):
        return self.onednn_linear(x, self.w[name + ".weight"], self.get(name + ".bias"))

    def head(self, hidden):
        return self.onednn_linear(hidden, self.lm_head)

    def mlp(self, x, p):
        m = p + "mlp."
        return self.linear(torch.nn.functional.silu(self.linear(x, m + "gate_proj")) * self.linear(x, m + "up_proj"),
                           m + "down_proj")

    def step(self, ids, mask, past=None):
        """Final hidden states [B, T, d] for ids [B, T] after `past` (per layer (k, v) [B, kv_heads, P, D]); mask [B, P + T]."""
        t = ids.shape[1]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -t:]
        freqs = positions.to(torch.float32)[..., None] * self.inv_freq
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        total = mask.shape[1]
        causal = torch.ones(t, total, dtype=torch.bool).tril(diagonal=total - t)
        itself = torch.zeros(t, total, dtype=torch.bool)
        itself[torch.arange(t), torch.arange(total - t, total)] = True  # pad queries see themselves (never used)
        allowed = (causal[None, None] & mask.bool()[:, None, None, :]) | itself[None, None]
        x = self.w["model.embed_tokens.weight"][ids]
        present = []
        for i in range(self.layers):
            p = f"model.layers.{i}."
            out, kv = self.cached_attention(rmsnorm(x, self.w[p + "input_layernorm.weight"], self.eps), p, cos, sin,
                                            allowed, past[i] if past else None)
            x = x + out
            x = x + self.mlp(rmsnorm(x, self.w[p + "post_attention_layernorm.weight"], self.eps), p)
            present.append(kv)
        return rmsnorm(x, self.w["model.norm.weight"], self.eps), present

    def cached_attention(self, x, p, cos, sin, allowed, past):
        b, t, _ = x.shape
        a = p + "self_attn."
        q = self.linear(x, a + "q_proj").view(b, t, self.heads, self.head_dim)
        k = self.linear(x, a + "k_proj").view(b, t, self.kv_heads, self.head_dim)
        v = self.linear(x, a + "v_proj").view(b, t, self.kv_heads, self.head_dim)
        if self.family == "qwen3":
            q = rmsnorm(q, self.w[a + "q_norm.weight"], self.eps)
            k = rmsnorm(k, self.w[a + "k_norm.weight"], self.eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        n_rep = self.heads // self.kv_heads
        scores = (q @ k.repeat_interleave(n_rep, dim=1).transpose(-1, -2)) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(~allowed, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v.repeat_interleave(n_rep, dim=1)
        out = out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        return self.linear(out, a + "o_proj"), (k, v)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def bench(folder, rows, prompt_len, new_tokens, score_len, response_len, repeats, threads, seed):
    """Float32 timings on `threads` threads: load, sampling with the cache (temperature 1, no stop), a log-prob pass."""
    torch.set_num_threads(threads)
    before = peak_rss_mb()
    start = time.perf_counter()
    model = CachedModel(folder)
    load_s = time.perf_counter() - start
    after_load = peak_rss_mb()
    vocab = model.c["vocab_size"]
    g = torch.Generator().manual_seed(seed)
    prompts = torch.randint(300, vocab, (rows, prompt_len), generator=g)
    scored = torch.randint(300, vocab, (rows, score_len), generator=g)

    def rollout():
        mask = torch.ones(rows, prompt_len, dtype=torch.int64)
        hidden, past = model.step(prompts, mask)
        out = []
        for n in range(new_tokens):
            probs = torch.softmax(model.head(hidden[:, -1]), dim=-1)
            nxt = torch.multinomial(probs, 1, generator=g)
            out.append(nxt)
            if n == new_tokens - 1:
                break
            mask = torch.cat([mask, torch.ones(rows, 1, dtype=torch.int64)], dim=1)
            hidden, past = model.step(nxt, mask, past)
        return torch.cat(out, dim=1)

    def logprobs():
        hidden, _ = model.step(scored, torch.ones_like(scored))
        # Only the positions that predict response tokens need the output head.
        logits = model.head(hidden[:, score_len - response_len - 1 : score_len - 1].contiguous())
        return torch.log_softmax(logits, dim=-1).gather(-1, scored[:, score_len - response_len :, None])

    def timed(work):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            work()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    rollout_s = timed(rollout)
    after_rollout = peak_rss_mb()
    logprob_s = timed(logprobs)
    return {"torch": torch.__version__, "threads": threads, "dtype": "float32", "linear": "oneDNN", "load_s": load_s,
            "rss_before_mb": before, "rss_after_load_mb": after_load, "rss_after_rollout_mb": after_rollout,
            "rss_peak_mb": peak_rss_mb(), "rollout_s": rollout_s, "rollout_tokens": rows * new_tokens,
            "logprob_s": logprob_s, "logprob_tokens": rows * score_len}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make", help="write a tiny random-init HF folder")
    mk.add_argument("--family", required=True)
    mk.add_argument("--variant", required=True)
    mk.add_argument("--out", required=True)
    mk.add_argument("--seed", type=int, default=0)
    fx = sub.add_parser("fixtures", help="write every fixture family/variant pair under --out")
    fx.add_argument("--out", required=True)
    fx.add_argument("--seed", type=int, default=0)
    lp = sub.add_parser("logprobs")
    lp.add_argument("dir")
    lp.add_argument("--input", required=True)
    lp.add_argument("--adapter", help="a PEFT LoRA adapter folder, merged into the base's weights in float64")
    bl = sub.add_parser("batch-logprobs", help="for each folder and line: the left-padded batch's logprobs and the line's alone")
    bl.add_argument("dirs", nargs="+")
    bl.add_argument("--input", required=True)
    gr = sub.add_parser("greedy")
    gr.add_argument("dir")
    gr.add_argument("--prompt-ids", required=True)
    gr.add_argument("--max-new-tokens", type=int, required=True)
    sub.add_parser("greedy-many", help='greedy ids for each stdin line {"dir", "prompt_ids", "max_new_tokens"}, in order')
    sub.add_parser("logprobs-many", help='logprobs for each stdin line {"dir", "prompt_ids", "response_ids"}, in order')
    ms = sub.add_parser("make-scaled", help="write a random-init folder of any shape, one tensor at a time")
    ms.add_argument("--family", required=True)
    ms.add_argument("--out", required=True)
    for name, default in (("hidden", 1024), ("layers", 28), ("heads", 16), ("kv-heads", 8), ("head-dim", 128),
                          ("intermediate", 3072), ("vocab", 151936), ("max-positions", 40960)):
        ms.add_argument(f"--{name}", type=int, default=default)
    ms.add_argument("--dtype", default="BF16")
    ms.add_argument("--untied", action="store_true")
    ms.add_argument("--seed", type=int, default=0)
    bn = sub.add_parser("bench", help="float32 timings and peak RSS of load, KV-cached sampling and a log-prob pass")
    bn.add_argument("dir")
    for name, default in (("rows", 8), ("prompt-len", 32), ("new-tokens", 32), ("score-len", 128),
                          ("response-len", 96), ("repeats", 3), ("threads", 2), ("seed", 0)):
        bn.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args(argv)

    torch.set_grad_enabled(False)
    try:
        if args.command == "make":
            make_folder(args.family, args.variant, args.out, args.seed)
            print(json.dumps({"dir": args.out, "family": args.family, "variant": args.variant}))
        elif args.command == "fixtures":
            for family, variant in FIXTURES:
                out = os.path.join(args.out, f"{family}-{variant}")
                make_folder(family, variant, out, args.seed)
                print(json.dumps({"dir": out, "family": family, "variant": variant}))
        elif args.command == "logprobs":
            model = Model(args.dir, merge_adapter(load_weights(args.dir), args.adapter) if args.adapter else None)
            for prompt, response in read_lines(args.input):
                print(json.dumps({"logprobs": sequence_logprobs(model, prompt, response)}))
        elif args.command == "batch-logprobs":
            # One process for every folder: torch's import (about 2 s) happens once.
            lines = read_lines(args.input)
            for folder in args.dirs:
                model = Model(folder)
                batched = batch_logprobs(model, lines)
                # Self-check: padding must not change the numbers.
                for n, ((prompt, response), got) in enumerate(zip(lines, batched), 1):
                    alone = sequence_logprobs(model, prompt, response)
                    worst = max((abs(a - b) for a, b in zip(alone, got)), default=0.0)
                    if worst > 1e-10:
                        raise ReferenceError(f"{folder} line {n}: batched and single logprobs differ by {worst:g}")
                    print(json.dumps({"logprobs": got, "alone": alone}))
        elif args.command in ("greedy-many", "logprobs-many"):
            # One process for many folders and lines: torch's import and each folder's load happen once.
            models = {}
            for n, line in enumerate(sys.stdin, 1):
                if not line.strip():
                    continue
                request = json.loads(line)
                prompt = [int(i) for i in request["prompt_ids"]]
                if not prompt:
                    raise ReferenceError(f"line {n}: prompt_ids needs at least one id")
                if request["dir"] not in models:
                    models[request["dir"]] = Model(request["dir"])
                model = models[request["dir"]]
                if args.command == "greedy-many":
                    print(json.dumps({"ids": greedy(model, prompt, int(request["max_new_tokens"]))}))
                else:
                    response = [int(i) for i in request["response_ids"]]
                    print(json.dumps({"logprobs": sequence_logprobs(model, prompt, response)}))
        elif args.command == "greedy":
            model = Model(args.dir)
            prompt = [int(s) for s in args.prompt_ids.split(",") if s.strip()]
            if not prompt:
                raise ReferenceError("--prompt-ids needs at least one id")
            print(json.dumps({"ids": greedy(model, prompt, args.max_new_tokens)}))
        elif args.command == "make-scaled":
            shape = {"hidden": args.hidden, "layers": args.layers, "heads": args.heads, "kv_heads": args.kv_heads,
                     "head_dim": args.head_dim, "intermediate": args.intermediate, "vocab": args.vocab,
                     "max_positions": args.max_positions}
            print(json.dumps(make_scaled_folder(args.family, args.out, shape, args.dtype, not args.untied, args.seed)))
        elif args.command == "bench":
            print(json.dumps(bench(args.dir, args.rows, args.prompt_len, args.new_tokens, args.score_len,
                                   args.response_len, args.repeats, args.threads, args.seed)))
    except ReferenceError as error:
        print(f"hf_families.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
