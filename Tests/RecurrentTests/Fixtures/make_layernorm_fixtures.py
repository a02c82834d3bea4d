"""Makes the NumPy reference for the layer-normalised cells (lnlstm, lngru).

Run from the repository root with NumPy installed (not needed by the tests themselves):
    .venv-bench/bin/python Tests/RecurrentTests/Fixtures/make_layernorm_fixtures.py
Writes Tests/RecurrentTests/Fixtures/layernorm_reference.json: for each case, the parameters,
an input, an initial state, the loss weights, the outputs, the final state, and the gradients of
L = sum(output_weights * y) + sum(final_state_weights * final_state) with respect to every
parameter, the input and the initial state.

Everything is float64, with inputs, parameters, initial states and loss weights rounded to
float32 first. LN(v; g) = g * (v - mean(v)) / sqrt(var(v) + 1e-5) over the whole vector.
Gradients are central finite differences (step 1e-6) of the forward below, so they do not depend
on any hand-derived backward; a second step (1e-7) must agree to 1e-5 of each tensor's largest
gradient or the script fails. (The check step is smaller, not larger: near a zero state LN(W_hh h)
curves on the scale sqrt(1e-5), and a 1e-5 step is off by ~3e-4 there.)
"""
import json
import pathlib

import numpy as np

EPS = 1e-5
STEP, CHECK_STEP, TOLERANCE = 1e-6, 1e-7, 1e-5


def f32(a):
    return np.float32(a).astype(np.float64)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def layer_norm(v, gain):
    # v: (B, N); mean and biased variance over the N entries of each row.
    mean = v.mean(axis=1, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=1, keepdims=True)
    return gain * (v - mean) / np.sqrt(var + EPS)


def lnlstm(p, x, state):
    H = p["weight_hh_l0"].shape[1]
    h, c = state[:, :H], state[:, H:]
    ys = []
    for t in range(x.shape[1]):
        a = (layer_norm(x[:, t] @ p["weight_ih_l0"].T, p["ln_ih_weight_l0"])
             + layer_norm(h @ p["weight_hh_l0"].T, p["ln_hh_weight_l0"]) + p["bias_l0"])
        i, f, g, o = np.split(a, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(layer_norm(c, p["ln_c_weight_l0"]) + p["ln_c_bias_l0"])
        ys.append(h)
    return np.stack(ys, axis=1), np.concatenate([h, c], axis=1)


def lngru(p, x, h):
    ys = []
    for t in range(x.shape[1]):
        u = layer_norm(x[:, t] @ p["weight_ih_l0"].T, p["ln_ih_weight_l0"]) + p["bias_ih_l0"]
        v = layer_norm(h @ p["weight_hh_l0"].T, p["ln_hh_weight_l0"]) + p["bias_hh_l0"]
        ur, uz, un = np.split(u, 3, axis=1)
        vr, vz, vn = np.split(v, 3, axis=1)
        r, z = sigmoid(ur + vr), sigmoid(uz + vz)
        n = np.tanh(un + r * vn)
        h = (1 - z) * n + z * h
        ys.append(h)
    return np.stack(ys, axis=1), h


CELLS = {"lnlstm": (lnlstm, 4, 2), "lngru": (lngru, 3, 1)}  # forward, gates, state width / H


def finite_difference(loss, tensors, step):
    grads = {}
    for name, a in tensors.items():
        g = np.zeros_like(a)
        for k in np.ndindex(a.shape):
            keep = a[k]
            a[k] = keep + step
            plus = loss()
            a[k] = keep - step
            minus = loss()
            a[k] = keep
            g[k] = (plus - minus) / (2 * step)
        grads[name] = g
    return grads


def case(cell, B, T, D, H, zero_state, seed):
    rng = np.random.default_rng(seed)
    forward, gates, width = CELLS[cell]
    G, S = gates * H, width * H
    p = {"weight_ih_l0": 0.5 * rng.standard_normal((G, D)),
         "weight_hh_l0": 0.5 * rng.standard_normal((G, H)),
         "ln_ih_weight_l0": 1 + 0.3 * rng.standard_normal(G),
         "ln_hh_weight_l0": 1 + 0.3 * rng.standard_normal(G)}
    if cell == "lnlstm":
        p["bias_l0"] = 0.3 * rng.standard_normal(G)
        p["ln_c_weight_l0"] = 1 + 0.3 * rng.standard_normal(H)
        p["ln_c_bias_l0"] = 0.3 * rng.standard_normal(H)
    else:
        p["bias_ih_l0"] = 0.3 * rng.standard_normal(G)
        p["bias_hh_l0"] = 0.3 * rng.standard_normal(G)
    p = {k: f32(v) for k, v in p.items()}
    x = f32(rng.standard_normal((B, T, D)))
    s0 = np.zeros((B, S)) if zero_state else f32(0.5 * rng.standard_normal((B, S)))
    wy = f32(rng.standard_normal((B, T, H)))
    ws = f32(rng.standard_normal((B, S)))

    def loss():
        y, s = forward(p, x, s0)
        return (wy * y).sum() + (ws * s).sum()

    y, s = forward(p, x, s0)
    tensors = dict(p, input=x, initial_state=s0)
    grads = finite_difference(loss, tensors, STEP)
    check = finite_difference(loss, tensors, CHECK_STEP)
    worst = 0.0
    for name in grads:
        scale = max(np.abs(grads[name]).max(), 1e-12)
        rel = np.abs(grads[name] - check[name]).max() / scale
        worst = max(worst, rel)
        assert rel < TOLERANCE, f"{cell} seed {seed}: {name} steps disagree by {rel:.2e}"
    print(f"{cell} B={B} T={T} D={D} H={H} zero_state={zero_state}: "
          f"max relative step disagreement {worst:.2e}")

    def exact(a):  # float32-rounded values, written exactly
        return [float(v) for v in a.reshape(-1)]

    def computed(a):
        return [float(f"{v:.10g}") for v in a.reshape(-1)]

    return {
        "cell": cell, "batch": B, "steps": T, "input_size": D, "hidden_size": H, "state_size": S,
        "parameters": {k: exact(v) for k, v in p.items()},
        "input": exact(x), "initial_state": exact(s0),
        "output_weights": exact(wy), "final_state_weights": exact(ws),
        "output": computed(y), "final_state": computed(s),
        "gradients": {k: computed(v) for k, v in grads.items()},
    }


cases = [
    case("lnlstm", 2, 5, 3, 4, False, seed=1),
    case("lngru", 2, 5, 3, 4, False, seed=2),
    case("lnlstm", 3, 4, 2, 6, True, seed=3),
    case("lngru", 3, 4, 2, 6, True, seed=4),
]

path = pathlib.Path(__file__).with_name("layernorm_reference.json")
path.write_text(json.dumps({
    "epsilon": EPS,
    "loss": "sum(output_weights * y) + sum(final_state_weights * final_state)",
    "cases": cases,
}, separators=(",", ":")))
print(f"wrote {len(cases)} cases to {path}")
