"""Validation loss against training time, one line per run: an SVG on standard output.
Usage: plot_cells.py FOLDER RUN [RUN ...]   (each FOLDER/RUN/metrics.jsonl, as rnn train writes it)"""
import json, sys

folder, runs = sys.argv[1], sys.argv[2:]
series = []
for run in runs:
    points = []
    with open(f"{folder}/{run}/metrics.jsonl") as f:
        for line in f:
            o = json.loads(line)
            if "val_loss" in o:
                points.append((o["elapsed_seconds"], o["val_loss"]))
    series.append((run, points))
xs = [x for _, p in series for x, _ in p]
ys = [y for _, p in series for _, y in p]
x1, y0, y1 = max(xs), min(ys), max(ys)
w, h, left, bottom, top, right = 640, 400, 60, 40, 30, 110
def px(x): return left + (w - left - right) * x / x1
def py(y): return top + (h - top - bottom) * (y1 - y) / (y1 - y0)
colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
       f'<rect width="{w}" height="{h}" fill="white"/>',
       f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="14">tinyshakespeare: validation loss against training time</text>',
       f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
       f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
       f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">seconds of training (2 cores)</text>',
       f'<text x="14" y="{(top + h - bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 {(top + h - bottom) / 2})">validation loss (nats/char)</text>']
for i in range(6):
    x = x1 * i / 5
    out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 16}" text-anchor="middle">{x:.0f}</text>')
    y = y0 + (y1 - y0) * i / 5
    out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
    out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{w - right}" y2="{py(y):.1f}" stroke="#ddd"/>')
for (run, points), color in zip(series, colors):
    path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
    out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
    for x, y in points:
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"/>')
    ly = top + 20 * (1 + series.index((run, points)))
    out.append(f'<line x1="{w - right + 10}" y1="{ly}" x2="{w - right + 30}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
    out.append(f'<text x="{w - right + 35}" y="{ly + 4}">{run}</text>')
out.append("</svg>")
print("\n".join(out))
