"""The PyTorch side of the benchmark cases, shared by the comparison scripts: the case table,
the model Embedding(65, H) → nn.LSTM/GRU/RNN (batch_first) → Linear(H, 65), and the timing of
its training step and of its batch-1 generation."""
import statistics
import time

import torch

V = 65
CASES = {
    "lstm-128x2-b50-t50": ("lstm", 128, 2, 50, 50),
    "lstm-512x2-b50-t100": ("lstm", 512, 2, 50, 100),
    "gru-256x2-b32-t64": ("gru", 256, 2, 32, 64),
    "rnn-100x1-b1-t25": ("rnn", 100, 1, 1, 25),
}


class Model(torch.nn.Module):
    def __init__(self, cell, h, layers, v=V):
        super().__init__()
        self.embedding = torch.nn.Embedding(v, h)
        self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](h, h, layers, batch_first=True)
        self.head = torch.nn.Linear(h, v)

    def forward(self, x, state):
        y, state = self.rnn(self.embedding(x), state)
        return self.head(y), state


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def model_for(name):
    cell, h, layers, _, _ = CASES[name]
    torch.manual_seed(1)
    return Model(cell, h, layers)


def train_step_seconds(name, seconds, model=None, bf16=False):
    """Median seconds of a training step — forward, cross-entropy, backward, clip_grad_norm_(5),
    Adam — on random tokens, the state carried (detached); at least 3 steps, about `seconds`.
    bf16: forward and loss under torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's mixed
    precision on a CPU (its backward runs in the forward's dtypes)."""
    _, _, _, b, t = CASES[name]
    model = model or model_for(name)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x, y = torch.randint(0, V, (b, t)), torch.randint(0, V, (b, t))

    def step(state):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, state = model(x, state)
            loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return detach(state)

    state = step(None)
    times, total = [], 0.0
    while total < seconds or len(times) < 3:
        t0 = time.perf_counter()
        state = step(state)
        times.append(time.perf_counter() - t0)
        total += times[-1]
    return statistics.median(times)


def generation_tokens_per_second(model, tokens):
    """Batch 1, one token at a time, the state carried, sampling from the softmax, no_grad."""
    def generate(n):
        token, state = torch.zeros(1, 1, dtype=torch.long), None
        with torch.no_grad():
            for _ in range(n):
                logits, state = model(token, state)
                token = torch.multinomial(torch.softmax(logits[0, -1], dim=-1), 1).view(1, 1)

    generate(50)
    t0 = time.perf_counter()
    generate(tokens)
    return tokens / (time.perf_counter() - t0)
