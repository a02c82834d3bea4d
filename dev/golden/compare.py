#!/usr/bin/env python3
"""Compares two golden-run folders written by record.sh (standard library only).

Every safetensors file: the same tensor names and the same bytes for each (metadata may differ;
training-state tensors `train.*` that only the second folder has are listed, not counted).
Every metrics.jsonl: the same train_loss and val_loss per line. Every .json and .out file: the
same text once timings (seconds, tok/s, ETA, elapsed) are masked. Exits 1 on any difference."""
import json, os, re, struct, sys

def tensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n:]
    return {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()}

TIMING = re.compile(r'("seconds": |"elapsed_seconds": |"tokens_per_second": )[0-9.e+-]+|[0-9.]+ tok/s|ETA \S+|'
                    r'in [0-9.]+ ?s\b|[0-9]+\.[0-9]+s\b|\b\d+\.\d\s*$', re.M)

def masked(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Progress lines print tok/s; drop them: the loss they show is in the evaluation lines too.
    lines = [l for l in text.splitlines() if "tok/s" not in l]
    return TIMING.sub("<t>", "\n".join(lines))

def losses(path):
    out = []
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            out.append((o.get("step"), o.get("train_loss"), o.get("val_loss")))
    return out

def main(a, b):
    bad = 0
    checked = 0
    for root, _, files in os.walk(a):
        for name in sorted(files):
            pa = os.path.join(root, name)
            rel = os.path.relpath(pa, a)
            pb = os.path.join(b, rel)
            if not os.path.exists(pb):
                print(f"MISSING {rel}"); bad += 1; continue
            if name.endswith(".safetensors"):
                ta, tb = tensors(pa), tensors(pb)
                added = sorted(k for k in set(tb) - set(ta) if k.startswith("train."))
                if added:
                    print(f"note {rel}: training state added in b: {', '.join(added)}")
                for k in sorted((set(ta) | set(tb)) - set(added)):
                    if k not in ta or k not in tb:
                        print(f"DIFF {rel}: tensor {k} only in {'a' if k in ta else 'b'}"); bad += 1
                    elif ta[k] != tb[k]:
                        print(f"DIFF {rel}: tensor {k} differs"); bad += 1
                checked += 1
            elif name == "metrics.jsonl":
                if losses(pa) != losses(pb):
                    print(f"DIFF {rel}: losses {losses(pa)} vs {losses(pb)}"); bad += 1
                checked += 1
            elif name.endswith((".json", ".out")):
                if masked(pa) != masked(pb):
                    print(f"DIFF {rel}"); bad += 1
                    import difflib
                    for l in list(difflib.unified_diff(masked(pa).splitlines(), masked(pb).splitlines(), lineterm=""))[:12]:
                        print("   ", l)
                checked += 1
    print(f"{checked} files compared, {bad} differences")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
