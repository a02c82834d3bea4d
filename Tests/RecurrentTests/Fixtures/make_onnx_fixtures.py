"""Makes and verifies the ONNX export fixtures: small character models built in PyTorch, exported
by `rnn export`, run by ONNX Runtime in two consecutive chunks with the state carried between
them, and compared with PyTorch.

Run from the repository root after building `rnn`, with PyTorch, safetensors, onnx and onnxruntime
in .venv-bench (the tests do not need them; `Benchmarks/setup_venv.sh` installs them):
    swift build -c release --scratch-path .build-onnx
    .venv-bench/bin/python Tests/RecurrentTests/Fixtures/make_onnx_fixtures.py [--rnn PATH]
Writes Tests/RecurrentTests/Fixtures/onnx_{lstm,gru,rnn_tanh,rnn_relu}.{safetensors,onnx} and
onnx_expected.json (the initial states, each chunk's tokens, and ONNX Runtime's logits and final
states per chunk). Exits non-zero, naming the largest difference, when ONNX Runtime and PyTorch
differ by more than 1e-5 relative (|a - b| / (1 + |b|)) or onnx.checker rejects a file.
"""
import argparse
import atexit
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime
import torch
from safetensors.torch import save_file

here = pathlib.Path(__file__).parent
root = here.parents[2]
text = "the cat sat on the mat.\nthe dog ate the hat!\n"
vocab = sorted(set(text))
# (cell, embedding E, hidden H, layers L): one layer and a stack, so both graph shapes are checked.
models = [("lstm", 4, 6, 2), ("gru", 4, 5, 2), ("rnn_tanh", 3, 5, 1), ("rnn_relu", 4, 6, 2)]
batch, chunk_steps = 2, [5, 3]
tolerance = 1e-5


class CharModel(torch.nn.Module):
    def __init__(self, cell, v, e, h, layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(v, e)
        if cell in ("lstm", "gru"):
            self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](e, h, layers, batch_first=True)
        else:
            self.rnn = torch.nn.RNN(e, h, layers, nonlinearity=cell[4:], batch_first=True)
        self.head = torch.nn.Linear(h, v)

    def forward(self, x, state):
        y, state = self.rnn(self.embedding(x), state)
        return self.head(y), state


def relative_difference(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b) / (1 + np.abs(b.astype(np.float64)))))


def float32_list(a):
    # Nine significant digits round-trip a float32 exactly and keep the file small.
    return [float(f"{x:.9g}") for x in np.asarray(a, dtype=np.float32).ravel()]


def compact(value, indent=0):
    """JSON with objects indented and every list on one line."""
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {compact(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "[\n" + ",\n".join(pad + compact(v, indent + 1) for v in value) + "\n" + " " * indent + "]"
    return json.dumps(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = root / ".build-onnx/release/rnn"
    if not default.exists():
        default = root / ".build/release/rnn"
    parser.add_argument("--rnn", default=str(default), help=f"the rnn binary (default {default})")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, rnn {args.rnn}")

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    # Everything is made in a scratch folder and copied into Fixtures/ only when every check passed.
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="onnx-fixtures-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    expected = {"text": text, "batch": batch, "tolerance": tolerance, "models": []}
    worst = 0.0
    for seed, (cell, e, h, layers) in enumerate(models):
        torch.manual_seed(seed + 200)
        model = CharModel(cell, len(vocab), e, h, layers).eval()
        config = json.dumps({"cell": cell, "vocab": vocab, "embedding_size": e, "hidden_size": h, "num_layers": layers})
        checkpoint, exported = scratch / f"onnx_{cell}.safetensors", scratch / f"onnx_{cell}.onnx"
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, checkpoint, metadata={"config": config})
        run = subprocess.run([args.rnn, "export", "--checkpoint", str(checkpoint), "--onnx", str(exported)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"{cell}: rnn export failed ({run.returncode}): {run.stderr.strip()}")
        print(run.stdout.strip())

        proto = onnx.load(str(exported))
        onnx.checker.check_model(proto, full_check=True)
        # Our writer claims protobuf's canonical encoding: re-serialising must give the same bytes.
        if proto.SerializeToString() != exported.read_bytes():
            sys.exit(f"{cell}: onnx re-serialises {exported.name} to different bytes")
        session = onnxruntime.InferenceSession(str(exported), options, providers=["CPUExecutionProvider"])

        rng = np.random.default_rng(seed + 300)
        lstm = cell == "lstm"
        h0 = (0.5 * rng.standard_normal((layers, batch, h))).astype(np.float32)
        c0 = (0.5 * rng.standard_normal((layers, batch, h))).astype(np.float32) if lstm else None
        record = {"cell": cell, "checkpoint": checkpoint.name, "onnx": exported.name, "layers": layers, "hidden": h,
                  "vocab": len(vocab), "h0": float32_list(h0)}
        if lstm:
            record["c0"] = float32_list(c0)
        # Two streams carried independently: ONNX Runtime's states feed ONNX Runtime, PyTorch's PyTorch.
        ort_state = {"h0": h0, "c0": c0} if lstm else {"h0": h0}
        torch_state = (torch.from_numpy(h0), torch.from_numpy(c0)) if lstm else torch.from_numpy(h0)
        chunks, largest, where = [], 0.0, ""
        for steps in chunk_steps:
            tokens = rng.integers(0, len(vocab), (batch, steps), dtype=np.int64)
            outputs = session.run(None, {"tokens": tokens, **ort_state})
            with torch.no_grad():
                logits, torch_state = model(torch.from_numpy(tokens), torch_state)
            reference = [logits] + (list(torch_state) if lstm else [torch_state])
            names = ["logits", "hn", "cn"] if lstm else ["logits", "hn"]
            for name, ours, theirs in zip(names, outputs, reference):
                theirs = theirs.numpy()
                if ours.shape != theirs.shape:
                    sys.exit(f"{cell}: {name} has shape {ours.shape} from ONNX Runtime, {theirs.shape} from PyTorch")
                d = relative_difference(ours, theirs)
                if d > largest:
                    largest, where = d, f"{name} of chunk {len(chunks) + 1}"
            chunk = {"steps": steps, "tokens": tokens.ravel().tolist()}
            chunk.update({name: float32_list(value) for name, value in zip(names, outputs)})
            chunks.append(chunk)
            ort_state = {"h0": outputs[1], "c0": outputs[2]} if lstm else {"h0": outputs[1]}
        record["chunks"] = chunks
        record["largest_relative_difference_vs_pytorch"] = float(f"{largest:.3g}")
        expected["models"].append(record)
        print(f"{cell}: {layers}x{h}, batch {batch}, chunks {chunk_steps}: largest relative difference between "
              f"ONNX Runtime and PyTorch {largest:.2e}" + (f" ({where})" if where else ""))
        if largest > tolerance:
            sys.exit(f"FAILED: {cell}: ONNX Runtime and PyTorch differ by {largest:.3e} relative in {where} "
                     f"(tolerance {tolerance})")
        worst = max(worst, largest)

    (scratch / "onnx_expected.json").write_text(compact(expected) + "\n")
    for made in sorted(scratch.iterdir()):
        shutil.copyfile(made, here / made.name)
    print(f"all {len(models)} models within {tolerance} (largest {worst:.2e}); wrote",
          sorted(p.name for p in here.glob("onnx_*")))


if __name__ == "__main__":
    main()
