"""Makes the PyTorch-import fixtures: plain state dicts saved by safetensors.torch.save_file (no
metadata, PyTorch's own names and order), the outputs PyTorch computes with them, and the round
trip of one of our checkpoints through PyTorch.

Run from the repository root after `swift build -c release`, with PyTorch and safetensors
installed in the ignored virtual environment (Benchmarks/setup_venv.sh; the tests do not need them):
    .venv-bench/bin/python Tests/RecurrentTests/Fixtures/make_import_fixtures.py [--rnn .build/release/rnn]

Writes into Tests/RecurrentTests/Fixtures/:
  import_tagger.safetensors    embed (Embedding) → encoder (2-layer bidirectional LSTM) → proj (Linear), F32
  import_gru_bare.safetensors  a bare nn.GRU(4, 5, num_layers=3, bias=False) state dict (names without a prefix), F16
  import_relu.safetensors      layers.0 = nn.RNN(3, 4, 2, nonlinearity='relu', bidirectional), BF16
  import_wlm.safetensors       the word_language_model naming: encoder / rnn (2-layer GRU) / decoder, plus a LayerNorm
  import_lstm_proj.safetensors a bare nn.LSTM(3, 6, num_layers=2, proj_size=4, bidirectional=True) state dict, F32
  import_expected.json         inputs, outputs and final states (PyTorch, with the file's rounded weights), NLL of a text
  roundtrip_ours.safetensors   a checkpoint written by `rnn train`
  roundtrip_torch.safetensors  the same model loaded into PyTorch by name and saved from PyTorch's state_dict()
  roundtrip_proj_ours.safetensors, roundtrip_proj_torch.safetensors: the same with `rnn train --proj-size`
and checks that `rnn import` turns each roundtrip_*torch back into its *ours's tensors, byte for byte.
"""
import argparse
import json
import math
import pathlib
import subprocess
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import save_file, load_file

here = pathlib.Path(__file__).parent
parser = argparse.ArgumentParser()
parser.add_argument("--rnn", default=".build/release/rnn", help="the rnn binary")
args = parser.parse_args()


def rounded(module, dtype):
    """The module with its weights rounded to `dtype` and back, as our loader sees the file."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(dtype).to(torch.float32))
    return module


def save(module, name, dtype):
    save_file({k: v.to(dtype).contiguous() for k, v in module.state_dict().items()}, here / name)


def state_list(h):
    return h.reshape(-1).tolist()


expected = {}

# A: a tagger whose encoder is a 2-layer bidirectional LSTM (prefix "encoder").
torch.manual_seed(11)


class Tagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(11, 5)
        self.encoder = torch.nn.LSTM(5, 6, num_layers=2, bidirectional=True, batch_first=True)
        self.proj = torch.nn.Linear(12, 4)


tagger = Tagger()
save(tagger, "import_tagger.safetensors", torch.float32)
x = torch.randn(2, 4, 5)
with torch.no_grad():
    y, (h, c) = tagger.encoder(x)
expected["tagger"] = {"prefix": "encoder", "batch": 2, "steps": 4, "x": x.reshape(-1).tolist(), "y": y.reshape(-1).tolist(),
                      "h": state_list(h), "c": state_list(c)}

# B: a bare nn.GRU without biases, saved in float16.
torch.manual_seed(12)
gru = rounded(torch.nn.GRU(4, 5, num_layers=3, bias=False, batch_first=True), torch.float16)
save(gru, "import_gru_bare.safetensors", torch.float16)
x = torch.randn(3, 6, 4)
with torch.no_grad():
    y, h = gru(x)
expected["gru_bare"] = {"prefix": "", "batch": 3, "steps": 6, "x": x.reshape(-1).tolist(), "y": y.reshape(-1).tolist(),
                        "h": state_list(h)}

# C: a relu nn.RNN inside a ModuleList (prefix "layers.0"), saved in bfloat16.
torch.manual_seed(13)


class Holder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.RNN(3, 4, 2, nonlinearity="relu", bidirectional=True, batch_first=True)])


holder = Holder()
rounded(holder, torch.bfloat16)
save(holder, "import_relu.safetensors", torch.bfloat16)
x = torch.randn(2, 5, 3)
with torch.no_grad():
    y, h = holder.layers[0](x)
expected["relu"] = {"prefix": "layers.0", "batch": 2, "steps": 5, "x": x.reshape(-1).tolist(), "y": y.reshape(-1).tolist(),
                    "h": state_list(h)}

# D: a character model named as PyTorch's word_language_model example names it.
text = "a quick brown fox jumps over the lazy dog.\nthe dog sleeps; the fox runs!\n"
vocab = sorted(set(text))
torch.manual_seed(14)


class WordLanguageModel(torch.nn.Module):
    def __init__(self, v):
        super().__init__()
        self.encoder = torch.nn.Embedding(v, 8)
        self.rnn = torch.nn.GRU(8, 10, 2, batch_first=True)
        self.norm = torch.nn.LayerNorm(10)   # 1-D tensors: not a candidate for anything
        self.decoder = torch.nn.Linear(10, v)

    def forward(self, ids):
        y, _ = self.rnn(self.encoder(ids))
        return self.decoder(y)


wlm = WordLanguageModel(len(vocab))
save(wlm, "import_wlm.safetensors", torch.float32)
ids = torch.tensor([[vocab.index(ch) for ch in text]])
with torch.no_grad():
    nll = torch.nn.functional.cross_entropy(wlm(ids[:, :-1])[0], ids[0, 1:]).item()
expected["wlm"] = {"text": text, "nats_per_char": nll, "bits_per_char": nll / math.log(2)}

# F: a bare nn.LSTM with projections (h of size 4, c of size 6).
torch.manual_seed(15)
lstm_proj = torch.nn.LSTM(3, 6, num_layers=2, proj_size=4, bidirectional=True, batch_first=True)
save(lstm_proj, "import_lstm_proj.safetensors", torch.float32)
x = torch.randn(2, 5, 3)
with torch.no_grad():
    y, (h, c) = lstm_proj(x)
expected["lstm_proj"] = {"prefix": "", "batch": 2, "steps": 5, "x": x.reshape(-1).tolist(), "y": y.reshape(-1).tolist(),
                         "h": state_list(h), "c": state_list(c)}
(here / "import_expected.json").write_text(json.dumps(expected, indent=1))

# E: our checkpoint → PyTorch → our checkpoint, without and with projections.
class CharModel(torch.nn.Module):
    def __init__(self, v, e, h, layers, proj_size=0):
        super().__init__()
        self.embedding = torch.nn.Embedding(v, e)
        self.rnn = torch.nn.LSTM(e, h, layers, batch_first=True, proj_size=proj_size)
        self.head = torch.nn.Linear(proj_size or h, v)


def round_trip(name, extra):
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "text.txt"
        corpus.write_text(text * 20)
        subprocess.run([args.rnn, "train", "--text", str(corpus), "--cell", "lstm", "--hidden", "9", "--layers", "2",
                        "--embedding", "7", "--batch", "4", "--seq", "16", "--steps", "30", "--seed", "5",
                        "--out", f"{tmp}/run"] + extra, check=True, stdout=subprocess.DEVNULL)
        ours = pathlib.Path(tmp) / "run" / "best.safetensors"
        (here / f"{name}_ours.safetensors").write_bytes(ours.read_bytes())
    with safe_open(here / f"{name}_ours.safetensors", "pt") as f:
        config = json.loads(f.metadata()["config"])
    model = CharModel(len(config["vocab"]), config["embedding_size"], config["hidden_size"], config["num_layers"],
                      config.get("proj_size", 0))
    model.load_state_dict(load_file(here / f"{name}_ours.safetensors"), strict=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, here / f"{name}_torch.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        back = pathlib.Path(tmp) / "back.safetensors"
        subprocess.run([args.rnn, "import", str(here / f"{name}_torch.safetensors"), "--vocab-from",
                        str(here / f"{name}_ours.safetensors"), "--out", str(back)], check=True)
        original, returned = load_file(here / f"{name}_ours.safetensors"), load_file(back)
        assert sorted(original) == sorted(returned), (sorted(original), sorted(returned))
        for key in original:
            assert original[key].numpy().tobytes() == returned[key].numpy().tobytes(), key
        print(f"{name}: {len(original)} tensors identical byte for byte")


round_trip("roundtrip", [])
round_trip("roundtrip_proj", ["--proj-size", "5"])
print("wrote", sorted(p.name for p in here.glob("import_*")) + sorted(p.name for p in here.glob("roundtrip_*")))
