"""Makes the character-model checkpoint fixtures: files written by PyTorch under the README's
checkpoint contract, which `rnn sample` and `rnn score` must load.

Run from the repository root with PyTorch and safetensors installed (the tests do not need them):
    .venv-bench/bin/python Tests/RecurrentTests/Fixtures/make_charlm_fixtures.py
Writes Tests/RecurrentTests/Fixtures/charlm_{lstm,gru}_{f32,f16,bf16}.safetensors and charlm_expected.json
(the text, its mean NLL per character from a zero state, and the first logits), for each model.
"""
import json
import math
import pathlib

import torch
from safetensors.torch import save_file

here = pathlib.Path(__file__).parent
text = "the cat sat on the mat.\nthe dog ate the hat!\n"
vocab = sorted(set(text))
ids = torch.tensor([[vocab.index(c) for c in text]])


class CharModel(torch.nn.Module):
    def __init__(self, cell, v, e, h, layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(v, e)
        self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN}[cell](e, h, layers, batch_first=True)
        self.head = torch.nn.Linear(h, v)

    def forward(self, x):
        y, _ = self.rnn(self.embedding(x))
        return self.head(y)


expected = {"text": text, "models": {}}
for seed, (cell, e, h, layers) in enumerate([("lstm", 6, 12, 2), ("gru", 5, 9, 1)]):
    torch.manual_seed(seed + 100)
    model = CharModel(cell, len(vocab), e, h, layers)
    config = json.dumps({"cell": cell, "vocab": vocab, "embedding_size": e, "hidden_size": h, "num_layers": layers})
    state = model.state_dict()
    for dtype, name in [(torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16")]:
        save_file({k: v.to(dtype).contiguous() for k, v in state.items()}, here / f"charlm_{cell}_{name}.safetensors",
                  metadata={"config": config})
    results = {}
    for dtype, name in [(torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16")]:
        # The model as our loader sees it: weights rounded to the file's dtype, arithmetic in float32.
        rounded = CharModel(cell, len(vocab), e, h, layers)
        rounded.load_state_dict({k: v.to(dtype).to(torch.float32) for k, v in state.items()})
        with torch.no_grad():
            logits = rounded(ids[:, :-1])
            nll = torch.nn.functional.cross_entropy(logits[0], ids[0, 1:]).item()
        results[name] = {"nats_per_char": nll, "bits_per_char": nll / math.log(2), "first_logits": logits[0, 0].tolist()}
    expected["models"][cell] = results
(here / "charlm_expected.json").write_text(json.dumps(expected, indent=1))
print("wrote", sorted(p.name for p in here.glob("charlm_*")))
