#!/usr/bin/env python3
"""Writes the committed seed corpus, Fuzz/corpus/{safetensors,jsonl}: a few valid files made by
the library itself (rnn train / rnn fit on tiny data, the PyTorch fixtures) and a few broken ones.

    swift build --scratch-path .build-fuzz && python3 Fuzz/make_seeds.py

The seeds are small on purpose (libFuzzer's default -max_len follows the largest seed)."""
import json, os, shutil, struct, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNN = os.environ.get("RNN", os.path.join(ROOT, ".build-fuzz", "debug", "rnn"))
ST = os.path.join(ROOT, "Fuzz", "corpus", "safetensors")
JL = os.path.join(ROOT, "Fuzz", "corpus", "jsonl")


def rnn(*args, stdout=None):
    subprocess.run([RNN, *args], check=True, stdout=stdout or subprocess.DEVNULL)


def resume_text():
    # Must match fuzzResumeText in Fuzz/Targets/SafetensorsFuzz.swift.
    words = ["to", "be", "or", "not", "that", "is", "the", "question"]
    s, i = "", 0
    while len(s) < 400:
        s += words[(i * 7 + i // 3) % len(words)] + (".\n" if i % 6 == 5 else " ")
        i += 1
    return s[:400]


def safetensors(header, payload=b"", declared=None):
    h = json.dumps(header, separators=(",", ":")).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h) if declared is None else declared) + h + payload


def main():
    for d in (ST, JL):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    tmp = tempfile.mkdtemp()
    p = lambda n: os.path.join(tmp, n)
    # A character model with training state (resumable), and its best checkpoint.
    with open(p("text.txt"), "w") as f:
        f.write(resume_text())
    rnn("train", "--text", p("text.txt"), "--cell", "gru", "--hidden", "3", "--layers", "1", "--embedding", "2",
        "--batch", "2", "--seq", "5", "--steps", "2", "--eval-every", "1", "--out", p("run"))
    shutil.copy(p("run/last.safetensors"), os.path.join(ST, "train-last.safetensors"))
    shutil.copy(p("run/best.safetensors"), os.path.join(ST, "train-best.safetensors"))
    # PyTorch-written fixtures (F16 / BF16).
    fixtures = os.path.join(ROOT, "Tests", "RecurrentTests", "Fixtures")
    for name in ("charlm_gru_f16.safetensors", "charlm_gru_bf16.safetensors"):
        shutil.copy(os.path.join(fixtures, name), os.path.join(ST, name))
    # Task checkpoints, one per kind, tiny.
    data = {
        "classify": ['{"input": "ab", "target": "x"}', '{"input": "ba", "target": "y"}', '{"input": "aab", "target": "3"}'],
        "regress": ['{"input": [[0.5, 1], [2, 3]], "target": [1.5, 2]}', '{"input": [[1, 0]], "target": [-1, 0.25]}',
                    '{"input": [[0, 0], [1, 1], [2, 2]], "target": [0, 1]}'],
        "tag": ['{"input": "a b", "target": ["x", "y"]}', '{"input": "b", "target": ["y"]}', '{"input": "a a", "target": ["x", "x"]}'],
        "seq2seq": ['{"input": "1+2", "target": "3"}', '{"input": "2+2", "target": "4"}', '{"input": "5+5", "target": "10"}'],
        "caption": ['{"input": [0.1, 0.9], "target": "red square"}', '{"input": [0.8, 0.2], "target": "blue bar"}',
                    '{"input": [0.5, 0.5], "target": "red bar"}'],
    }
    extra = {"tag": ["--tokens", "word"], "caption": ["--tokens", "word"], "seq2seq": ["--attention", "general"]}
    for kind, lines in data.items():
        with open(p(kind + ".jsonl"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(JL, kind + ".jsonl"), "w") as f:
            f.write("\n".join(lines) + "\n")
        rnn("fit", "--task", kind, "--data", p(kind + ".jsonl"), "--valid", p(kind + ".jsonl"), "--hidden", "2",
            "--embedding", "2", "--epochs", "1", "--out", p("fit-" + kind), *extra.get(kind, []))
        shutil.copy(p("fit-" + kind + "/last.safetensors"), os.path.join(ST, "task-" + kind + ".safetensors"))
    # Broken safetensors.
    w = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    broken = {
        "short": b"\x01\x02\x03",
        "header-past-end": safetensors({"w": w}, bytes(8), declared=4096),
        "header-huge": safetensors({"w": w}, bytes(8), declared=1 << 62),
        "not-object": safetensors(b"[1,2]"),
        "overlap": safetensors({"a": w, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)),
        "out-of-range": safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 80]}}, bytes(8)),
        "unknown-dtype": safetensors({"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, bytes(2)),
        "shape-bytes": safetensors({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)),
        "nan": safetensors({"w": w}, struct.pack("<2f", float("nan"), float("inf"))),
        "metadata": safetensors({"__metadata__": {"config": '{"cell": "lstm", "vocab": ["a"], "embedding_size": 1, '
                                                           '"hidden_size": 1, "num_layers": 1}'}}),
    }
    for name, blob in broken.items():
        with open(os.path.join(ST, "broken-" + name + ".safetensors"), "wb") as f:
            f.write(blob)
    # Broken JSONL.
    bad = {
        "broken-lines": '{"input": "ab", "target": "x"}\n{oops\n\n{"input": 3}\n["input"]\n',
        "wrong-types": '{"input": [[1, "a"]], "target": 1}\n{"input": [1, [2]], "target": true}\n'
                       '{"input": "x", "target": {"a": 1}, "id": [1]}\n{"input": [], "target": []}\n',
        "mixed": '{"input": [[1, 2]], "target": 1}\n{"input": [[1, 2, 3]], "target": 1}\n{"input": [[1e39, 2]], "target": [1]}\n',
    }
    for name, text in bad.items():
        with open(os.path.join(JL, name + ".jsonl"), "w") as f:
            f.write(text)
    shutil.rmtree(tmp)
    print("seeds:", len(os.listdir(ST)), "safetensors,", len(os.listdir(JL)), "jsonl")


if __name__ == "__main__":
    sys.exit(main())
