"""Makes the PyTorch fixtures the recurrent-layer tests compare against.

Run from the repository root with PyTorch installed (not needed by the tests themselves):
    .venv-bench/bin/python Tests/RecurrentTests/Fixtures/make_fixtures.py
Writes Tests/RecurrentTests/Fixtures/torch_recurrent.json: for each cell, depth and direction,
the module's state dict, an input, initial states, the outputs, final states, and the
gradients of L = sum(w_y * y) + sum(w_h * h_n) (+ sum(w_c * c_n) for LSTM); and
torch_lstm_projection.json: the same for nn.LSTM(proj_size=P) (h of size P, c of size H).
"""
import json
import pathlib

import torch

B, T, D, H = 2, 5, 3, 4


def tolist(t):
    return [round(float(v), 9) for v in t.detach().reshape(-1).tolist()]


def case(kind, layers, bidirectional, seed, proj_size=0):
    torch.manual_seed(seed)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(kind, torch.nn.RNN)
    extra = {"nonlinearity": kind.split("_")[1]} if kind.startswith("rnn") else {}
    if proj_size:
        extra["proj_size"] = proj_size
    m = cls(D, H, num_layers=layers, bidirectional=bidirectional, batch_first=True, **extra)
    dirs = 2 if bidirectional else 1
    x = torch.randn(B, T, D, requires_grad=True)
    h0 = (0.5 * torch.randn(layers * dirs, B, proj_size or H)).requires_grad_()
    c0 = (0.5 * torch.randn(layers * dirs, B, H)).requires_grad_()
    if kind == "lstm":
        y, (hn, cn) = m(x, (h0, c0))
    else:
        y, hn = m(x, h0)
        cn = None
    wy, wh = torch.randn_like(y), torch.randn_like(hn)
    loss = (wy * y).sum() + (wh * hn).sum()
    wc = None
    if cn is not None:
        wc = torch.randn_like(cn)
        loss = loss + (wc * cn).sum()
    loss.backward()
    out = {
        "cell": kind, "layers": layers, "bidirectional": bidirectional,
        "batch": B, "steps": T, "input_size": D, "hidden_size": H, "proj_size": proj_size,
        "parameters": {k: tolist(v) for k, v in m.state_dict().items()},
        "gradients": {k: tolist(p.grad) for k, p in m.named_parameters()},
        "x": tolist(x), "h0": tolist(h0), "y": tolist(y), "hn": tolist(hn),
        "wy": tolist(wy), "wh": tolist(wh), "dx": tolist(x.grad), "dh0": tolist(h0.grad),
    }
    if kind == "lstm":
        out.update({"c0": tolist(c0), "cn": tolist(cn), "wc": tolist(wc), "dc0": tolist(c0.grad)})
    return out


def write(name, cases):
    path = pathlib.Path(__file__).with_name(name)
    path.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, separators=(",", ":")))
    print(f"wrote {len(cases)} cases to {path} with torch {torch.__version__}")


cases = []
seed = 0
for kind in ["lstm", "gru", "rnn_tanh", "rnn_relu"]:
    for layers in [1, 2]:
        for bidirectional in [False, True]:
            seed += 1
            cases.append(case(kind, layers, bidirectional, seed))
write("torch_recurrent.json", cases)

projected = []
for layers in [1, 2]:
    for bidirectional in [False, True]:
        seed += 1
        projected.append(case("lstm", layers, bidirectional, seed, proj_size=3))
write("torch_lstm_projection.json", projected)
