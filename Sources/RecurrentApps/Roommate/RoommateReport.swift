import Foundation
import Recurrent

/// `rnn roommate --explain`'s page: a `RoommateExplanation` as one self-contained HTML file
/// (inline CSS, SVG and script; nothing fetched).
///
/// Sections, each a `<section id=…>`: `week` (per day the one-hot inputs, every vector of the
/// hand-wired network, the trained network's hidden units and output scores, each network's dish
/// and whether they agree), `matrices` (the hand-set Food, Weather and Merge beside the trained
/// network's weights, as coloured tables) and `training` (the training curve, as SVG).
/// The data is embedded once, as JSON in `<script type="application/json" id="roommate-data">`
/// (`data()`, which `rnn roommate --explain --json` writes on its own); the script builds the
/// tables and the curve from it and sets `data-ready` on `<body>` last.
package struct RoommateReport: Sendable {
    public let explanation: RoommateExplanation

    public init(_ explanation: RoommateExplanation) { self.explanation = explanation }

    /// The six units of the hand-wired network, in the order of Food's and Weather's rows.
    public static let unitNames = ["pasta if sunny", "burger if sunny", "salad if sunny",
                                   "pasta if rainy", "burger if rainy", "salad if rainy"]

    /// The page's data (JSON): the week, both networks' days, the matrices and the training run.
    public func data() -> String {
        typealias J = JSONText
        let e = explanation, t = e.training
        func vector(_ v: [Float]) -> String { J.array(v.map { J.number(Double($0)) }) }
        func matrix(_ m: Matrix) -> String {
            J.array((0..<m.rows).map { r in vector((0..<m.cols).map { m[r, $0] }) })
        }
        func names<T: CustomStringConvertible>(_ xs: [T]) -> String { J.array(xs.map { J.string($0.description) }) }
        let hand = e.handWired.map { d in
            J.object([("yesterday", vector(d.yesterday)), ("today", vector(d.today)), ("food", vector(d.foodPart)),
                      ("weather", vector(d.weatherPart)), ("add", vector(d.added)), ("relu", vector(d.activated)),
                      ("merge", vector(d.output)), ("dish", J.string(Roommate.dish(of: d.output).description))])
        }
        let trained = e.trained.map { d in
            J.object([("hidden", vector(d.hidden)), ("scores", vector(d.scores)),
                      ("probabilities", vector(d.probabilities)), ("dish", J.string(d.dish.description))])
        }
        let parameters = t.parameters.map { p in
            J.object([("name", J.string(p.name)), ("values", matrix(p.value.cols == 1 ? p.value.transposed : p.value))])
        }
        let history = t.history.map { J.array(["\($0.step)", J.number(Double($0.loss)), J.number($0.accuracy)]) }
        return J.object([
            ("start", J.string(e.start.description)), ("weather", names(e.weather)), ("rule", names(e.rule)),
            ("dishes", names(Dish.allCases)), ("weathers", names(Weather.allCases)),
            ("units", J.array(Self.unitNames.map(J.string))),
            ("hand_wired", J.object([
                ("matrices", J.object([("food", matrix(Roommate.food)), ("weather", matrix(Roommate.weather)),
                                       ("merge", matrix(Roommate.merge))])),
                ("days", J.array(hand)),
            ])),
            ("trained", J.object([
                ("cell", J.string(t.model.rawValue)), ("seed", "\(t.seed)"), ("steps", "\(t.steps)"),
                ("accuracy", J.number(t.accuracy)), ("training_weeks", "\(t.trainingWeeks)"),
                ("held_out_weeks", "\(t.heldOutWeeks)"),
                ("history", J.array(history)), ("parameters", J.array(parameters)), ("days", J.array(trained)),
            ])),
            ("agree", J.array(zip(e.handWiredDishes, e.trainedDishes).map { $0 == $1 ? "true" : "false" })),
        ])
    }

    /// The whole page.
    public func html() -> String {
        let e = explanation, t = e.training
        let agree = zip(e.handWiredDishes, e.trainedDishes).filter { $0 == $1 }.count
        let cell = t.model == .roommate ? "the Food/Weather/Merge roommate network (sigmoid, softmax)" : "the vanilla tanh RNN"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>rnn roommate: hand-wired and trained</title>
            <style>\(Self.css)</style>
            </head><body>
            <header id="summary"><h1>The perfect roommate: hand-wired and trained</h1>
            <p>Pasta → burger → salad → pasta: on a sunny day the same dish as yesterday, on a rainy day the next one.</p>
            <dl>
            <dt>week</dt><dd>\(e.weather.count) day\(e.weather.count == 1 ? "" : "s"), the day before: \(e.start)</dd>
            <dt>trained</dt><dd>\(cell), from random weights (seed \(t.seed)), \(t.steps) steps; \
            \(String(format: "%.1f", t.accuracy * 100))% of the days of \(t.heldOutWeeks) held-out weeks right</dd>
            <dt>agreement</dt><dd>the two networks choose the same dish on \(agree) of \(e.weather.count) days</dd>
            </dl>
            <noscript><p class="warn">The tables and the curve are drawn by the page's script: turn on JavaScript.</p></noscript>
            </header>
            <section id="week"><h2>The week</h2>
            <p>One row per day. Inputs: today's weather and yesterday's dish as one-hot vectors (yesterday's dish is \
            the hand-wired network's own output of the day before). The hand-wired network: Food·yesterday, \
            Weather·today, Add (their sum), ReLU(Add − 1) (only the unit where food and weather agree survives) and \
            Merge·ReLU(Add − 1), today's dish. The trained network, fed its own state: its hidden units \
            (\(t.model == .roommate ? "u = σ(a), the same six units" : "h<sub>t</sub>")) and its output scores \
            (logits of pasta, burger, salad). Cells: white 0, red positive, blue negative (as in <code>rnn explain</code>); the winning dish is \
            outlined. Hover for the exact value.</p>
            <div class="scroll"><table id="week-table" class="week"></table></div>
            </section>
            <section id="matrices"><h2>The weights</h2>
            <p>Left, the lecture's hand-set matrices (rows: the six units, or the three dishes for Merge). Right, \
            what training from random weights found, each coloured on its own scale (largest |w| the darkest; \
            white 0, red positive, blue negative).</p>
            <div class="sides"><div><h3>Hand-wired</h3><div id="hand-matrices"></div></div>
            <div><h3>Trained (\(Self.escape(t.model.rawValue)))</h3><div id="trained-matrices"></div></div></div>
            </section>
            <section id="training"><h2>Training</h2>
            <p>The mean training loss (cross-entropy, nats per day) over each span of steps between evaluations, and \
            the held-out accuracy measured at the end of each span; training stops once every held-out day is right.</p>
            <div id="curve"></div>
            </section>
            <footer>Written by <code>rnn roommate --explain</code>; <code>--json</code> writes the same data.</footer>
            <script type="application/json" id="roommate-data">\(ExplanationReport.scriptSafe(data()))</script>
            <script>\(Self.script)</script>
            </body></html>
            """
    }

    static func escape(_ s: String) -> String { ExplanationReport.escape(s) }

    static let css = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;background:#fff;margin:0 auto;\
        max-width:1240px;padding:12px 20px}
        h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:24px 0 6px;border-bottom:1px solid #ddd}
        h3{font-size:14px;margin:8px 0 4px}
        dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}dt{color:#555}dd{margin:0}
        p{max-width:900px;margin:6px 0}.warn{color:#a40000}
        .scroll{overflow-x:auto}
        table.week{border-collapse:collapse;font-size:12px}
        .week th,.week td{padding:3px 3px;border-bottom:1px solid #eee;text-align:center;vertical-align:middle;\
        white-space:nowrap}
        .week th{font-weight:600;color:#444}.week th.group{border-bottom:2px solid #bbb}
        .week td.sep,.week th.sep{border-left:2px solid #bbb}
        .vec{display:inline-flex;gap:1px}
        .vec span{display:inline-block;min-width:14px;height:18px;line-height:18px;font:10px ui-monospace,\
        "DejaVu Sans Mono",monospace;border:1px solid #ddd;text-align:center;padding:0 1px}
        .vec.compact span{min-width:8px;width:8px;padding:0}
        .vec span.win{outline:2px solid #1b1b1b;outline-offset:-1px}
        .dish{font-weight:600}.ok{color:#2f8a3c;font-weight:700}.bad{color:#c0262c;font-weight:700}
        .sides{display:grid;grid-template-columns:auto 1fr;gap:32px;align-items:start}
        .mat{display:inline-block;margin:0 14px 12px 0;vertical-align:top}
        .mat table{border-collapse:collapse;font:11px ui-monospace,"DejaVu Sans Mono",monospace}
        .mat td{width:34px;height:20px;text-align:center;border:1px solid #e4e4e4}
        .mat th{font-weight:400;color:#555;padding:0 4px;text-align:right;font-size:11px}
        .mat thead th{text-align:center}.mat .cap{font-size:12px;color:#333;margin-bottom:2px}
        .mat.small td{width:22px;height:16px;font-size:9px}
        #curve svg text{font-size:11px;fill:#333}#curve .frame{fill:#fafafa;stroke:#999}
        #curve .loss{fill:none;stroke:#2462a8;stroke-width:2}#curve .acc{fill:none;stroke:#c77700;stroke-width:2;\
        stroke-dasharray:5 3}#curve .grid{stroke:#e4e4e4}
        footer{margin:24px 0 8px;font-size:12px;color:#666}
        """

    static let script = #"""
        (function () {
          "use strict";
          const data = JSON.parse(document.getElementById("roommate-data").textContent);
          const hand = data.hand_wired, trained = data.trained;
          function el(tag, cls, text) {
            const e = document.createElement(tag);
            if (cls) e.className = cls;
            if (text !== undefined) e.textContent = text;
            return e;
          }
          // White 0, red positive, blue negative, as rnn explain's page; `scale` the value drawn darkest.
          function colour(v, scale) {
            const f = Math.min(1, Math.abs(v) / (scale || 1)), end = v >= 0 ? [192, 38, 44] : [36, 98, 168];
            const rgb = end.map(function (c) { return Math.round(255 + 0.8 * f * (c - 255)); });
            return "rgb(" + rgb.join(",") + ")";
          }
          function ink(v, scale) { return Math.abs(v) / (scale || 1) > 0.6 ? "#fff" : "#1b1b1b"; }
          function fmt(v) { return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/^-0\.00$/, "0.00"); }
          function argmax(v) { let b = 0; for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i; return b; }
          // A vector as a row of coloured cells; `names` label each cell on hover; `win` outlines the largest.
          // More than 8 entries (the vanilla RNN's h) are drawn as narrow cells without numbers, so the
          // trained network still fits beside the hand-wired one.
          function vec(v, names, scale, win) {
            const compact = v.length > 8, box = el("span", compact ? "vec compact" : "vec"), best = win ? argmax(v) : -1;
            v.forEach(function (x, i) {
              const c = el("span", i === best ? "win" : "", compact ? "" : fmt(x));
              c.style.background = colour(x, scale);
              c.style.color = ink(x, scale);
              c.title = (names ? names[i] + ": " : "") + x;
              box.appendChild(c);
            });
            return box;
          }
          function maxAbs(rows) {
            let m = 0;
            rows.forEach(function (r) { r.forEach(function (x) { m = Math.max(m, Math.abs(x)); }); });
            return m || 1;
          }

          // The week: one row per day, the hand-wired network's vectors, then the trained network's.
          const weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
          const hiddenNames = trained.cell === "roommate" ? data.units
            : trained.days[0].hidden.map(function (_, j) { return "h" + j; });
          const hiddenScale = maxAbs(trained.days.map(function (d) { return d.hidden; }));
          const scoreScale = maxAbs(trained.days.map(function (d) { return d.scores; }));
          const table = document.getElementById("week-table"), head = el("thead");
          const groups = el("tr");
          [["", 2, ""], ["inputs", 2, ""], ["hand-wired (the lecture)", 6, "sep"],
           ["trained from random weights (" + trained.cell + ")", 3, "sep"], ["", 1, "sep"]].forEach(function (g) {
            const th = el("th", "group " + g[2], g[0]);
            th.colSpan = g[1];
            groups.appendChild(th);
          });
          head.appendChild(groups);
          const names = el("tr");
          [["day", ""], ["rule", ""], ["weather", ""], ["yesterday", ""], ["Food·yesterday", "sep"],
           ["Weather·today", ""], ["Add", ""], ["ReLU(Add − 1)", ""], ["Merge·ReLU", ""], ["dish", ""],
           ["hidden units", "sep"], ["scores", ""], ["dish", ""], ["agree", "sep"]].forEach(function (n) {
            names.appendChild(el("th", n[1], n[0]));
          });
          head.appendChild(names);
          table.appendChild(head);
          const body = el("tbody");
          hand.days.forEach(function (h, i) {
            const t = trained.days[i], row = el("tr");
            function cell(content, cls) {
              const td = el("td", cls);
              if (typeof content === "string") td.textContent = content; else td.appendChild(content);
              row.appendChild(td);
            }
            cell(weekdays[i % 7] + (data.weather.length > 7 ? " " + (i + 1) : ""));
            cell(data.rule[i]);
            const w = el("span"); w.appendChild(vec(h.today, data.weathers, 1)); w.appendChild(document.createTextNode(" " + data.weather[i]));
            cell(w);
            cell(vec(h.yesterday, data.dishes, 1));
            cell(vec(h.food, data.units, 2), "sep");
            cell(vec(h.weather, data.units, 2));
            cell(vec(h.add, data.units, 2));
            cell(vec(h.relu, data.units, 2));
            cell(vec(h.merge, data.dishes, 1, true));
            // A dish the rule would not cook is red, with a cross.
            function dish(d) { return d === data.rule[i] ? [d, "dish"] : [d + " \u2717", "dish bad"]; }
            cell(dish(h.dish)[0], dish(h.dish)[1]);
            cell(vec(t.hidden, hiddenNames, hiddenScale), "sep");
            const s = vec(t.scores, data.dishes, scoreScale, true);
            s.title = "softmax: " + t.probabilities.map(function (p, k) {
              return data.dishes[k] + " " + (100 * p).toFixed(1) + "%";
            }).join(", ");
            cell(s);
            cell(dish(t.dish)[0], dish(t.dish)[1]);
            cell(data.agree[i] ? "\u2713" : "\u2717", "sep " + (data.agree[i] ? "ok" : "bad"));
            body.appendChild(row);
          });
          table.appendChild(body);

          // The matrices: a coloured table each, labelled rows and columns where they are known.
          function matrix(box, title, rows, rowNames, colNames, scale, small) {
            const wrap = el("div", "mat" + (small ? " small" : "")), t = el("table");
            wrap.appendChild(el("div", "cap", title + " (" + rows.length + "\u00d7" + rows[0].length + ")"));
            if (colNames) {
              const tr = el("tr"); tr.appendChild(el("th"));
              colNames.forEach(function (c) { tr.appendChild(el("th", "", c)); });
              const th = el("thead"); th.appendChild(tr); t.appendChild(th);
            }
            rows.forEach(function (r, i) {
              const tr = el("tr");
              tr.appendChild(el("th", "", rowNames ? rowNames[i] : ""));
              r.forEach(function (x, j) {
                const td = el("td", "", small ? "" : fmt(x));
                td.style.background = colour(x, scale);
                td.style.color = ink(x, scale);
                td.title = (rowNames ? rowNames[i] : "row " + i) + ", " + (colNames ? colNames[j] : "column " + j) + ": " + x;
                tr.appendChild(td);
              });
              t.appendChild(tr);
            });
            wrap.appendChild(t);
            box.appendChild(wrap);
          }
          const units = ["u1", "u2", "u3", "u4", "u5", "u6"];
          const handBox = document.getElementById("hand-matrices");
          matrix(handBox, "Food", hand.matrices.food, data.units, data.dishes, 1);
          matrix(handBox, "Weather", hand.matrices.weather, data.units, data.weathers, 1);
          matrix(handBox, "Merge = [I\u2083 | I\u2083]", hand.matrices.merge, data.dishes, units, 1);
          const labels = {
            "roommate.food": [units, data.dishes], "roommate.weather": [units, data.weathers],
            "roommate.add_bias": [null, units], "roommate.merge": [data.dishes, units],
            "roommate.merge_bias": [null, data.dishes],
            "rnn.weight_ih_l0": [null, data.dishes.concat(data.weathers)], "head.weight": [data.dishes, null],
            "head.bias": [null, data.dishes]
          };
          const order = ["roommate.food", "roommate.weather", "roommate.add_bias", "roommate.merge", "roommate.merge_bias"];
          const params = trained.parameters.slice().sort(function (a, b) {
            const i = order.indexOf(a.name), j = order.indexOf(b.name);
            return (i < 0 ? 99 : i) - (j < 0 ? 99 : j);
          });
          const trainedBox = document.getElementById("trained-matrices");
          params.forEach(function (p) {
            const l = labels[p.name] || [null, null], big = p.values[0].length > 8 || p.values.length > 8;
            matrix(trainedBox, p.name, p.values, l[0], p.values[0].length > 8 ? null : l[1], maxAbs(p.values), big);
          });

          // The training curve: loss (left axis) and held-out accuracy (right axis, 0–100%).
          const hist = trained.history, W = 720, H = 260, L = 54, R = 54, T = 12, B = 40;
          // The SVG namespace from the parser, so the page has no URL in it at all.
          const probe = el("div"); probe.innerHTML = "<svg></svg>";
          const ns = probe.firstChild.namespaceURI;
          function svg(tag, attrs, text) {
            const e = document.createElementNS(ns, tag);
            Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
            if (text !== undefined) e.textContent = text;
            return e;
          }
          const root = svg("svg", { width: W, height: H, role: "img", "aria-label": "training curve" });
          const maxStep = Math.max(1, hist.length ? hist[hist.length - 1][0] : 1);
          const maxLoss = Math.max(1e-6, Math.max.apply(null, hist.map(function (h) { return h[1]; }).concat([0])));
          const x = function (s) { return L + (W - L - R) * s / maxStep; };
          const yl = function (v) { return T + (H - T - B) * (1 - v / maxLoss); };
          const ya = function (a) { return T + (H - T - B) * (1 - a); };
          root.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, "class": "frame" }));
          // Round tick steps (1, 2 or 5 × 10^k) giving at most about five ticks.
          function tickStep(max) {
            const raw = max / 5, p = Math.pow(10, Math.floor(Math.log10(raw)));
            return [1, 2, 5, 10].map(function (m) { return m * p; }).find(function (s) { return s >= raw; });
          }
          for (let k = 0; k <= 4; k++) {
            const f = k / 4;
            root.appendChild(svg("line", { x1: L, x2: W - R, y1: ya(f), y2: ya(f), "class": "grid" }));
            root.appendChild(svg("text", { x: W - R + 6, y: ya(f) + 4 }, Math.round(100 * f) + "%"));
          }
          const ls = tickStep(maxLoss), ss = tickStep(maxStep);
          for (let v = 0; v <= maxLoss + 1e-9; v += ls) {
            root.appendChild(svg("text", { x: L - 6, y: yl(v) + 4, "text-anchor": "end" }, String(+v.toFixed(3))));
          }
          for (let s = 0; s <= maxStep; s += ss) {
            root.appendChild(svg("text", { x: x(s), y: H - B + 16, "text-anchor": "middle" }, String(s)));
          }
          root.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "step"));
          root.appendChild(svg("text", { transform: "translate(14 " + (T + (H - T - B) / 2) + ") rotate(-90)",
                                         "text-anchor": "middle" }, "training loss"));
          root.appendChild(svg("text", { transform: "translate(" + (W - 8) + " " + (T + (H - T - B) / 2) + ") rotate(90)",
                                         "text-anchor": "middle" }, "held-out accuracy"));
          root.appendChild(svg("polyline", { "class": "loss", points: hist.map(function (h) {
            return x(h[0]).toFixed(1) + "," + yl(h[1]).toFixed(1); }).join(" ") }));
          root.appendChild(svg("polyline", { "class": "acc", points: hist.map(function (h) {
            return x(h[0]).toFixed(1) + "," + ya(h[2]).toFixed(1); }).join(" ") }));
          hist.forEach(function (h) {
            const c = svg("circle", { cx: x(h[0]), cy: yl(h[1]), r: 3, fill: "#2462a8" });
            c.appendChild(svg("title", {}, "step " + h[0] + ": loss " + h[1].toFixed(4) + ", held-out accuracy "
                                           + (100 * h[2]).toFixed(1) + "%"));
            root.appendChild(c);
          });
          const key = svg("g", {});
          key.appendChild(svg("line", { x1: W - R - 170, x2: W - R - 150, y1: T + 14, y2: T + 14, "class": "loss" }));
          key.appendChild(svg("text", { x: W - R - 145, y: T + 18 }, "loss"));
          key.appendChild(svg("line", { x1: W - R - 100, x2: W - R - 80, y1: T + 14, y2: T + 14, "class": "acc" }));
          key.appendChild(svg("text", { x: W - R - 75, y: T + 18 }, "accuracy"));
          root.appendChild(key);
          document.getElementById("curve").appendChild(root);
          document.body.dataset.ready = "1";
        })();
        """#
}
