"""`rnn forecast backtest` against the usual baselines on the same rolling-origin windows (issue 19):
naive, seasonal naive, statsforecast's AutoETS, Darts' RNNModel and BlockRNNModel with LSTM.

    Benchmarks/setup_venv.sh && swift build -c release
    .venv-bench/bin/pip install statsmodels statsforecast "darts[torch]" pandas torch==<installed version>
    .venv-bench/bin/python Benchmarks/forecast_vs_baselines.py [--rnn .build/release/rnn]
        [--datasets co2,sunspots,elnino,synthetic] [--out /tmp/forecast-bench] [--threads 2]
        [--quick] [--skip-rnn] [--skip-darts] [--rnn-args "--epochs 50"]

Data (no network: statsmodels ships the first three inside its package), written to OUT/NAME.csv:

  dataset    source                                         m    H   K   n    our CSV
  co2        statsmodels.datasets.co2: weekly Mauna Loa     12   12  6   526  time (YYYY-MM-01),series,value
             CO2, 1958-03…2001-12, 59 weeks missing →
             monthly means of the weeks present ('MS'); the
             5 months with no week at all are linearly
             interpolated (1958-06, 1958-10, 1964-02…04)
  sunspots   statsmodels.datasets.sunspots: yearly          11   10  5   309  time (the year, 1700…2008),series,value
             SUNACTIVITY (m = 11 given, not detected)
  elnino     statsmodels.datasets.elnino: a row per year    12   12  6   732  time (YYYY-MM-01),series,value
             1950…2010, a column per month → melted
  synthetic  `rnn data series --count 3 --length 730        7    14  5   730  date,series,value,day_of_week
             --seed 1`: daily, weekly + yearly sine, trend,                  (3 series; as rnn writes it)
             N(0, 1) noise

Windows (the same for every method): origins o_k = n − H − (K−1−k)·H, k = 0…K−1; window k forecasts
the indices o_k..<o_k+H of a series from its history values[:o_k].

Methods:
  naive           ŷ_{o+h} = y_{o−1}
  seasonal naive  ŷ_{o+h} = y_{o+h−m·⌈(h+1)/m⌉}
  AutoETS         statsforecast AutoETS(season_length=m), refit on each window's history (statistical
                  models are refit per origin, as is usual), its 80% interval (level=[80]); fit s and
                  predict s are sums over all windows and series, after one untimed warm-up fit (numba
                  compiles on first use)
  Darts           RNNModel(model="LSTM") (autoregressive, output chunk 1) and BlockRNNModel(model=
                  "LSTM", output chunk H): trained once on each series' values before the first origin
                  (values[:o_0]), scaled by Darts' Scaler (min-max, fit on that part, one per series);
                  then each window predicted from its history, no retraining (our protocol); one global
                  model for the multi-series synthetic data; input chunk max(2m, 2H), hidden 32, 1
                  layer, Adam 1e-3, batch 32, MSE, random_state 1, the epochs of DARTS_EPOCHS; point
                  forecasts. fit s: model.fit; predict s: one model.predict over all windows; both after
                  an untimed 1-epoch warm-up of each model kind (torch's and Lightning's first-use costs).
  ours            `rnn forecast backtest --csv OUT/NAME.csv --time time (synthetic: date) --target value
                  --series series --horizon H --windows K --season m --out OUT/rnn-NAME --json` plus RNN_ARGS[NAME] (and
                  --rnn-args), timed as a whole process (fit s: the process's wall time, training and
                  all windows); OUT/rnn-NAME/forecasts.csv is read back and scored here like the others.

Scores (one implementation for all): per (series, window): MAE, MASE = MAE / the mean |y_t − y_{t−m}|
over that window's history; MASE and MAE are averaged over all (series, window) pairs; RMSE is the
root of the mean squared error over all forecast points; sMAPE = mean of 200·|y−ŷ|/(|y|+|ŷ|) over the
points (0/0 = 0); cov80 = % of points inside the 80% interval (ours: q0.1..q0.9; AutoETS: lo-80..hi-80);
CRPS: Gaussian closed form (ours: mean and sd; AutoETS: its mean and sd = (hi−lo)/(2·z_0.9)), for point
forecasts the absolute error (so CRPS = MAE). Our MASE is checked against metrics.json's overall model
MASE (a warning when they differ by more than 1e-9).

Results: a markdown table per dataset on stdout and in OUT/results.md, everything in OUT/results.json,
with the CPU model and the library versions. Timing needs a quiet machine; --quick (1 epoch
everywhere) only checks the plumbing.
"""
import argparse
import json
import logging
import math
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#             m   H   K
DATASETS = {"co2": (12, 12, 6), "sunspots": (11, 10, 5), "elnino": (12, 12, 6), "synthetic": (7, 14, 5)}
DARTS_EPOCHS = {"co2": 100, "sunspots": 200, "elnino": 100, "synthetic": 50}
DARTS_HIDDEN, DARTS_LAYERS, DARTS_LR, DARTS_BATCH, SEED = 32, 1, 1e-3, 32, 1
# Extra flags for ours per dataset (our defaults otherwise); --rnn-args adds to every dataset.
RNN_ARGS = {"co2": ["--seed", "1"], "sunspots": ["--seed", "1"], "elnino": ["--seed", "1"],
            "synthetic": ["--seed", "1"]}
Z90 = 1.2815515655446004  # Φ⁻¹(0.9)

parser = argparse.ArgumentParser()
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
parser.add_argument("--datasets", default="co2,sunspots,elnino,synthetic")
parser.add_argument("--out", default="/tmp/forecast-bench")
parser.add_argument("--quick", action="store_true", help="1 epoch everywhere: checks the plumbing, not the numbers")
parser.add_argument("--threads", type=int, default=2, help="torch threads (Darts)")
parser.add_argument("--skip-rnn", action="store_true")
parser.add_argument("--skip-darts", action="store_true")
parser.add_argument("--rnn-args", default="", help="extra flags for every `rnn forecast backtest`")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
warnings.filterwarnings("ignore")


def quiet_lightning():
    """Lightning sets its loggers to INFO when imported ("GPU available: …", tips): after the imports."""
    for logger in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "darts"):
        logging.getLogger(logger).setLevel(logging.ERROR)


# ---- data ---------------------------------------------------------------------------------------

class Series:
    """One series: its id, its times as written in the CSV, its values (float64)."""
    def __init__(self, name, times, values):
        self.name, self.times, self.values = name, [str(t) for t in times], np.asarray(values, dtype=np.float64)


def write_csv(path, name, times, values):
    pd.DataFrame({"time": times, "series": name, "value": values}).to_csv(path, index=False)


def load(name):
    """→ (CSV path, time column, [Series])."""
    import statsmodels.api as sm
    path = os.path.join(args.out, f"{name}.csv")
    if name == "co2":
        weekly = sm.datasets.co2.load_pandas().data["co2"]
        monthly = weekly.resample("MS").mean().interpolate(method="time")
        times, values = monthly.index.strftime("%Y-%m-%d").tolist(), monthly.to_numpy()
    elif name == "sunspots":
        d = sm.datasets.sunspots.load_pandas().data
        times, values = d["YEAR"].astype(int).tolist(), d["SUNACTIVITY"].to_numpy()
    elif name == "elnino":
        d = sm.datasets.elnino.load_pandas().data
        months = [c for c in d.columns if c != "YEAR"]
        long = d.melt(id_vars="YEAR", value_vars=months, var_name="month", value_name="value")
        long["date"] = pd.to_datetime({"year": long["YEAR"].astype(int),
                                       "month": long["month"].map({m: i + 1 for i, m in enumerate(months)}), "day": 1})
        long = long.sort_values("date")
        times, values = long["date"].dt.strftime("%Y-%m-%d").tolist(), long["value"].to_numpy()
    elif name == "synthetic":
        # `rnn data series` writes the CSV on stdout.
        with open(path, "w") as f:
            subprocess.run([args.rnn, "data", "series", "--count", "3", "--length", "730", "--seed", "1"],
                           check=True, stdout=f)
        d = pd.read_csv(path, dtype={"date": str, "series": str})
        return path, "date", [Series(s, g["date"].tolist(), g["value"].to_numpy())
                              for s, g in d.groupby("series", sort=True)]
    else:
        sys.exit(f"unknown dataset {name}")
    assert not np.isnan(values).any()
    write_csv(path, name, times, values)
    return path, "time", [Series(name, times, values)]


def origins(n, H, K):
    return [n - H - (K - 1 - k) * H for k in range(K)]


# ---- scoring ------------------------------------------------------------------------------------

def gaussian_crps(y, mu, sd):
    from scipy.stats import norm
    sd = np.maximum(sd, 0.0)
    out = np.abs(y - mu)
    positive = sd > 0
    z = (y[positive] - mu[positive]) / sd[positive]
    out[positive] = sd[positive] * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi))
    return out


def score(data, forecasts, m, H, K):
    """forecasts[series name][k] = dict(mean=(H,), and optionally lo, hi, sd (H,)) → the scores."""
    mase, mae, sq, smape, covered, crps, points, intervals = [], [], [], [], [], [], 0, True
    for s in data:
        for k, o in enumerate(origins(len(s.values), H, K)):
            f = forecasts[s.name][k]
            y, yhat = s.values[o:o + H], np.asarray(f["mean"], dtype=np.float64)
            history = s.values[:o]
            scale = np.mean(np.abs(history[m:] - history[:-m]))
            e = np.abs(y - yhat)
            mae.append(e.mean())
            mase.append(e.mean() / scale)
            sq.extend(e ** 2)
            denominator = np.abs(y) + np.abs(yhat)
            smape.extend(np.where(denominator > 0, 200 * e / np.where(denominator > 0, denominator, 1), 0.0))
            if f.get("lo") is not None:
                covered.extend((np.asarray(f["lo"]) <= y) & (y <= np.asarray(f["hi"])))
            else:
                intervals = False
            crps.extend(gaussian_crps(y, yhat, np.asarray(f["sd"], dtype=np.float64)) if f.get("sd") is not None else e)
            points += H
    return {"mase": float(np.mean(mase)), "smape": float(np.mean(smape)), "mae": float(np.mean(mae)),
            "rmse": float(math.sqrt(np.mean(sq))), "cov80": float(100 * np.mean(covered)) if intervals else None,
            "crps": float(np.mean(crps)), "points": points}


# ---- methods ------------------------------------------------------------------------------------

def naive(data, m, H, K):
    return {s.name: [{"mean": np.full(H, s.values[o - 1])} for o in origins(len(s.values), H, K)] for s in data}


def seasonal_naive(data, m, H, K):
    steps = np.arange(H)
    back = m * np.ceil((steps + 1) / m).astype(int)
    return {s.name: [{"mean": s.values[o + steps - back]} for o in origins(len(s.values), H, K)] for s in data}


def auto_ets(data, m, H, K):
    from statsforecast.models import AutoETS
    AutoETS(season_length=m).fit(data[0].values[:origins(len(data[0].values), H, K)[0]]).predict(H, level=[80])
    out, fit_s, predict_s = {}, 0.0, 0.0
    for s in data:
        out[s.name] = []
        for o in origins(len(s.values), H, K):
            started = time.perf_counter()
            model = AutoETS(season_length=m).fit(s.values[:o])
            fit_s += time.perf_counter() - started
            started = time.perf_counter()
            p = model.predict(H, level=[80])
            predict_s += time.perf_counter() - started
            lo, hi = np.asarray(p["lo-80"]), np.asarray(p["hi-80"])
            out[s.name].append({"mean": np.asarray(p["mean"]), "lo": lo, "hi": hi, "sd": (hi - lo) / (2 * Z90)})
    return out, fit_s, predict_s


darts_warm = set()


def darts_model(kind, name, data, m, H, K):
    import torch
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel, RNNModel
    quiet_lightning()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    chunk = max(2 * m, 2 * H)
    common = dict(hidden_dim=DARTS_HIDDEN, n_rnn_layers=DARTS_LAYERS, batch_size=DARTS_BATCH,
                  optimizer_kwargs={"lr": DARTS_LR}, random_state=SEED,
                  work_dir=os.path.join(args.out, "darts"), save_checkpoints=False,
                  pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False, "logger": False,
                                     "enable_model_summary": False, "enable_checkpointing": False})

    def make(epochs):
        if kind == "RNNModel":
            return RNNModel(model="LSTM", input_chunk_length=chunk, training_length=chunk + H, n_epochs=epochs,
                            **common)
        return BlockRNNModel(model="LSTM", input_chunk_length=chunk, output_chunk_length=H, n_epochs=epochs,
                             **common)

    def series(values):
        return TimeSeries.from_values(values.astype(np.float32))

    if kind not in darts_warm:  # torch's and Lightning's first-use costs: untimed, once per model kind
        warm = series(np.sin(np.arange(8.0 * chunk)))
        make(1).fit(warm).predict(n=H, series=[warm, warm], verbose=False)
        darts_warm.add(kind)
    scalers = {s.name: Scaler() for s in data}
    train = [scalers[s.name].fit_transform(series(s.values[:origins(len(s.values), H, K)[0]])) for s in data]
    model = make(1 if args.quick else DARTS_EPOCHS[name])
    started = time.perf_counter()
    model.fit(train if len(train) > 1 else train[0])
    fit_s = time.perf_counter() - started
    metrics = getattr(getattr(model, "trainer", None), "callback_metrics", {}) or {}
    loss = float(metrics["train_loss"]) if "train_loss" in metrics else None
    windows = [(s, k, scalers[s.name].transform(series(s.values[:o])))
               for s in data for k, o in enumerate(origins(len(s.values), H, K))]
    started = time.perf_counter()
    predicted = model.predict(n=H, series=[w[2] for w in windows], verbose=False)
    predict_s = time.perf_counter() - started
    out = {s.name: [None] * K for s in data}
    for (s, k, _), p in zip(windows, predicted):
        out[s.name][k] = {"mean": scalers[s.name].inverse_transform(p).values().ravel().astype(np.float64)}
    return out, fit_s, predict_s, loss


def time_key(t):
    """Times as ours writes them (YYYY-MM-DD or a plain number) and as our CSVs hold them, made comparable."""
    t = str(t).strip()
    try:
        return repr(float(t))
    except ValueError:
        return t[:10]


def ours(name, csv, time_column, data, m, H, K):
    folder = os.path.join(args.out, f"rnn-{name}")
    cmd = [args.rnn, "forecast", "backtest", "--csv", csv, "--time", time_column, "--target", "value",
           "--series", "series", "--horizon", str(H), "--windows", str(K), "--season", str(m), "--out", folder,
           "--json"] + RNN_ARGS.get(name, []) + (["--epochs", "1"] if args.quick else []) + shlex.split(args.rnn_args)
    print("  $ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise RuntimeError(f"rnn forecast backtest failed ({done.returncode})")
    with open(os.path.join(folder, "metrics.json")) as f:
        metrics = json.load(f)
    rows = pd.read_csv(os.path.join(folder, "forecasts.csv"), dtype={"time": str, "series": str, "origin": str})
    out, problems = {}, []
    for s in data:
        mine = rows if len(data) == 1 else rows[rows["series"] == s.name]
        index = {time_key(t): i for i, t in enumerate(s.times)}
        expected = origins(len(s.values), H, K)
        by_origin = {}
        for origin, g in mine.groupby("origin", sort=False):
            by_origin[index[time_key(origin)]] = g
        if sorted(by_origin) != expected:
            raise RuntimeError(f"{name}/{s.name}: origins {sorted(by_origin)} in forecasts.csv, expected {expected}")
        out[s.name] = []
        for o in expected:
            g = by_origin[o]
            steps = [index[time_key(t)] for t in g["time"]]
            if steps != list(range(o, o + H)):
                raise RuntimeError(f"{name}/{s.name}: origin {o}: forecast steps {steps}")
            actual = g["actual"].to_numpy(dtype=np.float64)
            if not np.allclose(actual, s.values[o:o + H], rtol=1e-6, atol=1e-6):
                problems.append(f"{s.name} origin {o}: actual differs from the data")
            out[s.name].append({"mean": g["mean"].to_numpy(dtype=np.float64), "sd": g["sd"].to_numpy(dtype=np.float64),
                                "lo": g["q0.1"].to_numpy(dtype=np.float64), "hi": g["q0.9"].to_numpy(dtype=np.float64)})
    for p in problems:
        print(f"  WARNING: {p}", flush=True)
    return out, wall, metrics


# ---- the run ------------------------------------------------------------------------------------

def cpu_model():
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if ":" in line:
                key, value = (x.strip() for x in line.split(":", 1))
                fields.setdefault(key, value)
    name = fields.get("model name", platform.processor() or "unknown CPU")
    return (f"{name} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')}), "
            f"{os.cpu_count()} logical CPUs")


def versions():
    out = {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__}
    for module in ("torch", "darts", "statsforecast", "statsmodels"):
        try:
            out[module] = __import__(module).__version__
        except Exception as error:  # noqa: BLE001 — report what is missing, keep going
            out[module] = f"missing ({type(error).__name__})"
    return out


def number(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


cpu, libraries = cpu_model(), versions()
header = (f"{cpu}; " + ", ".join(f"{k} {v}" for k, v in libraries.items())
          + f"; torch threads {args.threads}" + ("; QUICK (1 epoch: plumbing only)" if args.quick else ""))
print(header, flush=True)
results = {"cpu": cpu, "versions": libraries, "threads": args.threads, "quick": args.quick, "datasets": {}}
report = [f"# forecast_vs_baselines\n\n{header}\n"]
for name in args.datasets.split(","):
    m, H, K = DATASETS[name]
    csv, time_column, data = load(name)
    print(f"\n## {name}: {len(data)} series of {len(data[0].values)}, m = {m}, H = {H}, K = {K}, "
          f"origins {origins(len(data[0].values), H, K)}", flush=True)
    methods = {}

    def add(method, forecasts, fit_s=None, predict_s=None, **extra):
        methods[method] = {**score(data, forecasts, m, H, K), "fit_s": fit_s, "predict_s": predict_s, **extra}

    add("naive", naive(data, m, H, K))
    add("seasonal naive", seasonal_naive(data, m, H, K))
    forecasts, fit_s, predict_s = auto_ets(data, m, H, K)
    add("AutoETS", forecasts, fit_s, predict_s)
    if not args.skip_darts:
        for kind in ("RNNModel", "BlockRNNModel"):
            forecasts, fit_s, predict_s, loss = darts_model(kind, name, data, m, H, K)
            add(f"Darts {kind} LSTM", forecasts, fit_s, predict_s, final_train_loss=loss)
    check = None
    if not args.skip_rnn:
        forecasts, wall, metrics = ours(name, csv, time_column, data, m, H, K)
        add("ours (rnn)", forecasts, wall, None, metrics_json=metrics)
        theirs = metrics.get("overall", {}).get("model", {}).get("mase")
        mine = methods["ours (rnn)"]["mase"]
        check = theirs is not None and abs(theirs - mine) <= 1e-9
        if not check:
            print(f"  WARNING: our MASE from forecasts.csv {mine!r} ≠ metrics.json overall model MASE {theirs!r}",
                  flush=True)
    lines = ["| method | MASE | sMAPE | MAE | RMSE | cov80 | CRPS | fit s | predict s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for method, r in methods.items():
        lines.append(f"| {method} | {r['mase']:.3f} | {r['smape']:.2f} | {r['mae']:.3f} | {r['rmse']:.3f} | "
                     f"{number(r['cov80'], 1)} | {r['crps']:.3f} | {number(r['fit_s'], 2)} | "
                     f"{number(r['predict_s'], 2)} |")
    verdicts = [f"{k}: final training loss (scaled MSE) {number(v['final_train_loss'], 4)}"
                for k, v in methods.items() if k.startswith("Darts")]
    if "ours (rnn)" in methods:
        o = methods["ours (rnn)"]
        snaive = methods["seasonal naive"]["mase"]
        rivals = {k: v["mase"] for k, v in methods.items() if k == "AutoETS" or k.startswith("Darts")}
        best = min(rivals, key=rivals.get)
        verdicts.append(f"MASE ≤ seasonal naive: {'yes' if o['mase'] <= snaive else 'NO'} "
                        f"({o['mase']:.3f} vs {snaive:.3f})")
        verdicts.append(f"within 10% of the best of AutoETS and Darts ({best} {rivals[best]:.3f}): "
                        f"{'yes' if o['mase'] <= 1.1 * rivals[best] else 'NO'} (ratio {o['mase'] / rivals[best]:.3f})")
        if o["cov80"] is not None:
            verdicts.append(f"80% coverage within ±5 points of 80: {'yes' if abs(o['cov80'] - 80) <= 5 else 'NO'} "
                            f"({o['cov80']:.1f}%)")
        darts_total = {k: v["fit_s"] + v["predict_s"] for k, v in methods.items() if k.startswith("Darts")}
        if darts_total:
            verdicts.append(f"time: ours {o['fit_s']:.2f} s (whole process, training and {K} windows) vs "
                            + ", ".join(f"{k} {t:.2f} s (fit + predict)" for k, t in darts_total.items()))
        verdicts.append(f"our MASE = metrics.json's to 1e-9: {'yes' if check else 'NO'}")
    table = "\n".join(lines + [""] + [f"- {v}" for v in verdicts])
    print(table, flush=True)
    report.append(f"## {name}: {len(data)} series of {len(data[0].values)}, m = {m}, H = {H}, K = {K}\n\n{table}\n")
    results["datasets"][name] = {"m": m, "H": H, "K": K, "series": len(data), "n": len(data[0].values),
                                 "origins": origins(len(data[0].values), H, K), "methods": methods,
                                 "verdicts": verdicts, "mase_matches_metrics_json": check}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
with open(os.path.join(args.out, "results.md"), "w") as f:
    f.write("\n".join(report))
print(f"\nwrote {os.path.join(args.out, 'results.json')} and results.md", flush=True)
