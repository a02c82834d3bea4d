#!/usr/bin/env python3
"""Loss curves of the same run on 1 and 2 ranks, as one SVG (standard library only).
Usage: plot_curves.py RUN_1_RANK RUN_2_RANKS OUT.svg   (folders holding metrics.jsonl)
Prints the largest difference between the curves' train and validation losses."""
import json, sys

def curve(folder):
    rows = [json.loads(l) for l in open(folder + "/metrics.jsonl")]
    return [(r["step"], r.get("train_loss"), r.get("val_loss")) for r in rows if r.get("train_loss") is not None]

one, two = curve(sys.argv[1]), curve(sys.argv[2])
w, h, left, bottom, top, right = 640, 360, 60, 40, 30, 150
steps = [s for s, _, _ in one + two]
values = [v for _, t, v in one + two for v in (t, v) if v is not None]
x0, x1, y0, y1 = min(steps), max(steps), min(values), max(values)
X = lambda s: left + (s - x0) / (x1 - x0) * (w - left - right)
Y = lambda v: h - bottom - (v - y0) / (y1 - y0) * (h - bottom - top)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
       f'<rect width="{w}" height="{h}" fill="white"/>',
       f'<text x="{w / 2}" y="18" text-anchor="middle">char model, 1 process and 2 MPI ranks (same seed, global batch)</text>',
       f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
       f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
       f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">step</text>',
       f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" text-anchor="middle">loss (nats per character)</text>']
for i in range(5):
    v = y0 + i * (y1 - y0) / 4
    out.append(f'<text x="{left - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    s = x0 + i * (x1 - x0) / 4
    out.append(f'<text x="{X(s):.1f}" y="{h - bottom + 16}" text-anchor="middle">{s:.0f}</text>')
series = [(one, 1, "#1f77b4", "", "1 process"), (two, 1, "#d62728", "6 4", "2 ranks"),
          (one, 2, "#2ca02c", "", "1 process, validation"), (two, 2, "#ff7f0e", "6 4", "2 ranks, validation")]
for k, (c, col, color, dash, label) in enumerate(series):
    pts = " ".join(f"{X(r[0]):.1f},{Y(r[col]):.1f}" for r in c if r[col] is not None)
    out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>')
    ly = top + 10 + 18 * k
    out.append(f'<line x1="{w - right + 10}" y1="{ly}" x2="{w - right + 34}" y2="{ly}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>')
    out.append(f'<text x="{w - right + 40}" y="{ly + 4}">{label}</text>')
out.append("</svg>")
open(sys.argv[3], "w").write("\n".join(out) + "\n")
diff = max(abs(a - b) for p, q in zip(one, two) for a, b in zip(p[1:], q[1:]) if a is not None and b is not None)
print(f"{len(one)} and {len(two)} points; largest difference between the curves {diff:.2e}")
