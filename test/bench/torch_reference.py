# PyTorch reference for `npm run bench`: the same decoder-only transformer and the same work as the
# workbench's engine (rollout with a KV cache, a log-prob pass, a training step with AdamW), timed here.
# A benchmark baseline only; the workbench never depends on it. Run with Debian's /usr/bin/python3.
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

args = json.loads(sys.argv[1])
torch.manual_seed(0)
torch.set_num_threads(args.get("threads", 2))
V, D, L, H, P = args["vocab"], args["hidden"], args["layers"], args["heads"], args["positions"]
HS = D // H


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(D)
        self.qkv = torch.nn.Linear(D, 3 * D)
        self.out = torch.nn.Linear(D, D)
        self.ln2 = torch.nn.LayerNorm(D)
        self.up = torch.nn.Linear(D, 4 * D)
        self.down = torch.nn.Linear(4 * D, D)

    def forward(self, x, bias, past=None):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
        q, k, v = (z.view(b, t, H, HS).transpose(1, 2) for z in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HS) + bias
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, D)
        x = x + self.out(y)
        x = x + self.down(F.gelu(self.up(self.ln2(x)), approximate="tanh"))
        return x, (k, v)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = torch.nn.Embedding(V, D)
        self.pos = torch.nn.Embedding(P, D)
        self.blocks = torch.nn.ModuleList([Block() for _ in range(L)])
        self.lnf = torch.nn.LayerNorm(D)

    def forward(self, ids, positions, bias, cache=None):
        x = self.tok(ids) + self.pos(positions)
        new_cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, bias, None if cache is None else cache[i])
            new_cache.append(kv)
        return self.lnf(x) @ self.tok.weight.t(), new_cache


def causal_bias(t):
    return torch.triu(torch.full((t, t), -1e9), diagonal=1)


model = Model()
prompts, samples, prompt_len, new_tokens = args["prompts"], args["samples"], args["prompt_len"], args["new_tokens"]
# The response length every phase uses (the GRPO bench passes the engine's mean response length).
new_tokens = args.get("response_len", new_tokens)
rows = prompts * samples
seq_len = prompt_len + new_tokens


def rollout():
    with torch.no_grad():
        ids = torch.randint(3, V, (rows, prompt_len))
        positions = torch.arange(prompt_len).expand(rows, -1)
        logits, cache = model(ids, positions, causal_bias(prompt_len))
        nxt = torch.multinomial(logits[:, -1].softmax(-1), 1)
        for step in range(1, new_tokens):
            pos = torch.full((rows, 1), prompt_len + step - 1)
            logits, cache = model(nxt, pos, torch.zeros(1), cache)
            nxt = torch.multinomial(logits[:, -1].softmax(-1), 1)


def logprob_pass():
    with torch.no_grad():
        ids = torch.randint(3, V, (rows, seq_len))
        logits, _ = model(ids, torch.arange(seq_len).expand(rows, -1), causal_bias(seq_len))
        logp = logits[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None])
        logp.sum().item()


optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)


def train_step():
    ids = torch.randint(3, V, (rows, seq_len))
    logits, _ = model(ids, torch.arange(seq_len).expand(rows, -1), causal_bias(seq_len))
    loss = -logits[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None]).mean()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


repeats = args["repeats"]
print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "rollout_s": median_seconds(rollout, repeats),
    "logprob_s": median_seconds(logprob_pass, repeats),
    "train_s": median_seconds(train_step, repeats),
    # Peak resident memory of the whole process (Linux reports KiB), as the engine's perf/rss_mb.
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
