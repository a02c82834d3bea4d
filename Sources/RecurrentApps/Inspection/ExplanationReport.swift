import Foundation
import Recurrent

/// `rnn explain`'s page: a character model's `CharModelExplanation` as one self-contained HTML file
/// (inline CSS, SVG and script; nothing fetched), after Karpathy, Johnson & Fei-Fei 2015.
///
/// Sections, each a `<section id=…>`: `surprisal` (the text coloured by the surprisal of each
/// character, top-5 predictions on hover), `units` (the text coloured by one hidden unit, any
/// layer and unit, with the ranked interpretable units), `saturation` (per layer and σ gate, each
/// unit's fractions of steps left- and right-saturated, as SVG scatters) and `states` (a heat map
/// of h_t, units × steps, over the first `heatMapSteps` steps, drawn on a canvas).
///
/// The data the script draws from is embedded once, as JSON in `<script type="application/json"
/// id="explain-data">`: the T + 1 characters shown, per step the surprisal and top predictions,
/// and per layer h_t (T, O) quantised to 8 bits (q = round(127 · h / s), s = max(1, max |h|)) as
/// base64, so 2000 steps × 512 units stay a few MB and the page builds one element per character.
public struct ExplanationReport: Sendable {
    public let explanation: CharModelExplanation
    /// The checkpoint's and the text's paths, as the user gave them.
    public let checkpoint: String
    public let text: String
    /// The heat map's bound on steps.
    public let heatMapSteps: Int

    public init(_ explanation: CharModelExplanation, checkpoint: String, text: String, heatMapSteps: Int = 300) {
        self.explanation = explanation
        self.checkpoint = checkpoint
        self.text = text
        self.heatMapSteps = heatMapSteps
    }

    /// `s` escaped for HTML text and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// JSON made safe inside `<script>`: < > & only occur in JSON strings, where \u escapes mean the same.
    static func scriptSafe(_ json: String) -> String {
        json.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }

    /// The page's data block (JSON; see the type's summary).
    public func data() -> String {
        typealias J = JSONText
        let e = explanation, trace = e.trace
        let (t, o) = (e.steps.count, trace.outputSize)
        func short(_ x: Double) -> String { x.isFinite ? String(format: "%.4g", x) : "null" }
        var shown = String(String.UnicodeScalarView(e.steps.map(\.character)))
        if let last = e.steps.last { shown.unicodeScalars.append(last.next) }
        let top = e.steps.map { s in
            J.array(s.top.map { J.array([J.string(String($0.character)), short($0.probability)]) })
        }
        let layers = e.layers.enumerated().map { l, layer in
            var scale: Float = 1
            for step in 0..<t {
                for h in trace.hidden(step: step, layer: l) where h.isFinite { scale = max(scale, abs(h)) }
            }
            var bytes = [UInt8](repeating: 0, count: t * o)
            for step in 0..<t {
                for (j, h) in trace.hidden(step: step, layer: l).enumerated() {
                    let q = h.isFinite ? Int8((max(-1, min(1, h / scale)) * 127).rounded()) : 0
                    bytes[step * o + j] = UInt8(bitPattern: q)
                }
            }
            let rankings = layer.rankings.map { r in
                J.object([("feature", J.string(r.feature)),
                          ("top", J.array(r.units.map { J.array(["\($0.unit)", short($0.value)]) }))])
            }
            return J.object([("scale", "\(scale)"), ("states", J.string(Data(bytes).base64EncodedString())),
                             ("rankings", J.array(rankings))])
        }
        return J.object([
            ("text", J.string(shown)), ("steps", "\(t)"), ("output_size", "\(o)"), ("heat_steps", "\(min(t, heatMapSteps))"),
            ("bits", J.array(e.steps.map { short($0.surprisalBits) })), ("top", J.array(top)), ("layers", J.array(layers)),
        ])
    }

    /// The layers' dot colours, in turn.
    static let layerColours = ["#c0262c", "#2462a8", "#2f8a3c", "#8e44ad", "#c77700", "#138d90"]

    /// One gate's SVG scatter, as in the 2015 paper: a dot per unit and layer (coloured by layer),
    /// x its fraction of steps left-saturated, y right-saturated.
    /// - Parameter layers: per layer, that gate's saturation.
    static func scatter(gate: String, layers: [(layer: Int, saturation: CharModelExplanation.GateSaturation)]) -> String {
        let (size, left, top) = (170.0, 46.0, 8.0)
        func x(_ v: Double) -> String { String(format: "%.1f", left + v * size) }
        func y(_ v: Double) -> String { String(format: "%.1f", top + (1 - v) * size) }
        func tick(_ v: Double) -> String { v == 0.5 ? "0.5" : "\(Int(v))" }
        var svg = "<figure class=\"scatter\"><svg width=\"\(Int(left + size + 14))\" height=\"\(Int(top + size + 38))\" "
            + "role=\"img\" aria-label=\"gate \(escape(gate)) saturation\">"
        svg += "<rect x=\"\(x(0))\" y=\"\(y(1))\" width=\"\(Int(size))\" height=\"\(Int(size))\" class=\"plot\"/>"
        svg += "<line x1=\"\(x(0))\" y1=\"\(y(1))\" x2=\"\(x(1))\" y2=\"\(y(0))\" class=\"bound\"/>"
        for v in [0.0, 0.5, 1.0] {
            svg += "<text x=\"\(x(v))\" y=\"\(y(0))\" dy=\"13\" text-anchor=\"\(v == 0 ? "start" : "middle")\">\(tick(v))</text>"
            // The x axis's 0 labels the origin for both.
            if v > 0 { svg += "<text x=\"\(x(0))\" dx=\"-7\" y=\"\(y(v))\" dy=\"4\" text-anchor=\"end\">\(tick(v))</text>" }
        }
        svg += "<text x=\"\(x(0.5))\" y=\"\(y(0))\" dy=\"30\" text-anchor=\"middle\" class=\"axis\">left-saturated (&lt; 0.1)</text>"
        svg += "<text transform=\"translate(14 \(y(0.5))) rotate(-90)\" text-anchor=\"middle\" class=\"axis\">"
            + "right-saturated (&gt; 0.9)</text>"
        for (l, s) in layers {
            let colour = layerColours[l % layerColours.count]
            for (j, (a, b)) in zip(s.left, s.right).enumerated() {
                svg += "<circle cx=\"\(x(a))\" cy=\"\(y(b))\" r=\"3\" fill=\"\(colour)\"><title>layer \(l + 1), unit \(j): "
                    + "\(String(format: "%.2f", a)) left, \(String(format: "%.2f", b)) right</title></circle>"
            }
        }
        return svg + "</svg><figcaption>gate \(escape(gate))</figcaption></figure>"
    }

    /// The whole page.
    public func html() -> String {
        let e = explanation, c = e.configuration
        let esc = Self.escape
        let bits = String(format: "%.3f", e.meanSurprisalBits)
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>rnn explain: \(esc(checkpoint))</title>
            <style>\(Self.css)</style>
            </head><body>
            <header id="model"><h1>Inside a character model</h1>
            <dl>
            <dt>model</dt><dd>\(esc(c.cell.rawValue)), \(c.layers) layer\(c.layers == 1 ? "" : "s"), hidden size \(c.hiddenSize), \
            h width \(e.trace.outputSize), \(c.vocabulary.count) characters in the vocabulary</dd>
            <dt>checkpoint</dt><dd><code>\(esc(checkpoint))</code></dd>
            <dt>text</dt><dd><code>\(esc(text))</code>, \(e.characters) characters</dd>
            <dt>steps shown</dt><dd>\(e.steps.count) (at most \(e.maxSteps), --max-steps)\(e.truncated
                ? "; <strong>the text was cut short</strong>" : "; the whole text")</dd>
            <dt>mean surprisal</dt><dd>\(bits) bits/char (\(String(format: "%.4f", e.meanSurprisalBits * M_LN2)) nats/char)</dd>
            </dl>
            <noscript><p class="warn">The coloured text and the heat map are drawn by the page's script: turn on JavaScript.</p></noscript>
            </header>
            <section id="surprisal"><h2>Surprisal</h2>
            <p>Each character coloured by how surprised the model was to see it: −log₂ p in bits, from the \
            prediction made at the character before it (the first character has none). Hover over a character \
            for the model's five likeliest guesses at that point. ↵ marks a newline.</p>
            <div class="legend"><span>0 bits</span><span class="bar surprisal-bar"></span><span>8+ bits</span></div>
            <div class="text" id="surprisal-text"></div>
            </section>
            <section id="units"><h2>Hidden units</h2>
            <p>Each character coloured by one hidden unit's h<sub>t</sub> after reading it (blue −1, white 0, red +1). \
            Pick any layer and unit, or click a ranked unit below: the units whose activation correlates most \
            (Pearson r, largest |r| first) with the position in the line, with being inside double quotes or \
            brackets, and with itself one step later (autocorrelation: slow units that hold memory).</p>
            <div class="controls"><label>layer <select id="unit-layer"></select></label>
            <label>unit <input id="unit-index" type="number" min="0" max="\(e.trace.outputSize - 1)" value="0"></label>
            <span id="unit-readout" class="readout"></span></div>
            <div class="legend"><span>−1</span><span class="bar unit-bar"></span><span>+1</span></div>
            <div id="rankings" class="rankings"></div>
            <div class="text" id="unit-text"></div>
            </section>
            <section id="saturation"><h2>Gate saturation</h2>
            <p>Per σ gate, one dot per unit and layer: the fraction of the \(e.steps.count) steps at which the gate is \
            left-saturated (below 0.1, nearly closed) against right-saturated (above 0.9, nearly open), as in \
            Karpathy, Johnson &amp; Fei-Fei (2015). Dots on the diagonal are always saturated; near the origin, \
            never. Hover over a dot for its unit.</p>

            """
        let gateNames = e.layers.first?.saturation.map(\.gate) ?? []
        if gateNames.isEmpty {
            page += "<p class=\"warn\">This cell (\(esc(c.cell.rawValue))) has no σ gates.</p>\n"
        } else {
            let key = (0..<e.layers.count).map {
                "<span><i style=\"background:\(Self.layerColours[$0 % Self.layerColours.count])\"></i>layer \($0 + 1)</span>"
            }
            page += "<div class=\"legend key\">\(key.joined())</div>\n<div class=\"plots\">"
            for (g, name) in gateNames.enumerated() {
                page += Self.scatter(gate: name, layers: e.layers.enumerated().map { ($0, $1.saturation[g]) })
            }
            page += "</div>\n"
        }
        page += """
            </section>
            <section id="states"><h2>Hidden state</h2>
            <p>h<sub>t</sub> of every layer as a heat map, one row per unit and one column per step, over the first \
            \(min(e.steps.count, heatMapSteps)) of the \(e.steps.count) steps shown (blue −1, white 0, red +1). \
            Hover for the step, unit and value.</p>
            <div id="heatmaps"></div><div id="heat-readout" class="readout"></div>
            </section>
            <footer>Written by <code>rnn explain</code>. Activations are drawn from 8-bit copies (±1/127 of each \
            layer's largest |h|); <code>rnn explain --json</code> writes the exact values.</footer>
            <script type="application/json" id="explain-data">\(Self.scriptSafe(data()))</script>
            <script>\(Self.script)</script>
            </body></html>
            """
        return page
    }

    static let css = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;background:#fff;margin:0 auto;\
        max-width:1180px;padding:12px 24px}
        h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:24px 0 6px;border-bottom:1px solid #ddd}
        dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}dt{color:#555}dd{margin:0}
        p{max-width:900px;margin:6px 0}.warn{color:#a40000}
        .text{font:13px/1.55 ui-monospace,"DejaVu Sans Mono",Menlo,monospace;white-space:pre-wrap;word-break:break-all;\
        border:1px solid #ddd;padding:8px;max-height:240px;overflow:auto;background:#fff}
        .text span{padding:1px 0}.nl{color:#888}
        .legend{display:flex;align-items:center;gap:8px;font-size:13px;margin:6px 0}
        .bar{display:inline-block;width:220px;height:12px;border:1px solid #bbb}
        .surprisal-bar{background:linear-gradient(to right,#ffffff,#fff1a8,#ffb35c,#f0603c,#c0262c)}
        .unit-bar{background:linear-gradient(to right,rgb(67,120,195),#fff,rgb(214,70,60))}
        .controls{display:flex;gap:16px;align-items:center;margin:6px 0}.controls input{width:70px}
        .readout{font:13px ui-monospace,"DejaVu Sans Mono",monospace;color:#333;min-height:1.3em}
        .rankings{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:8px 0;font-size:13px}
        .rankings h3{font-size:13px;margin:0 0 4px}.rankings button{display:block;width:100%;text-align:left;\
        font:12px ui-monospace,"DejaVu Sans Mono",monospace;background:#f6f6f6;border:1px solid #ddd;margin:1px 0;\
        padding:2px 6px;cursor:pointer}.rankings button.on{background:#ffe9a8;border-color:#c9a000}
        .plots{display:flex;flex-wrap:wrap;gap:8px}.scatter{margin:0;text-align:center;font-size:13px}
        .scatter text{font-size:11px;fill:#333}.scatter text.axis{font-size:11px;fill:#555}
        .scatter .plot{fill:#fafafa;stroke:#999}.scatter .bound{stroke:#ccc;stroke-dasharray:4 3}
        .scatter circle{fill-opacity:.6;stroke:#333;stroke-width:.4}
        .key i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;opacity:.8}
        .heat{margin:6px 0 12px}.heat canvas{image-rendering:pixelated;border:1px solid #bbb;display:block}
        .heat div{font-size:13px;color:#555}
        footer{margin:24px 0 8px;font-size:12px;color:#666}
        """

    static let script = #"""
        (function () {
          "use strict";
          const data = JSON.parse(document.getElementById("explain-data").textContent);
          const chars = Array.from(data.text), T = data.steps, O = data.output_size;
          const layers = data.layers.map(function (l) {
            const raw = atob(l.states), q = new Int8Array(raw.length);
            for (let i = 0; i < raw.length; i++) q[i] = raw.charCodeAt(i) << 24 >> 24;
            return { q: q, scale: l.scale, rankings: l.rankings };
          });
          function value(layer, t, j) { return layers[layer].q[t * O + j] / 127 * layers[layer].scale; }
          function show(c) { return c === "\n" ? "\u21b5\n" : c === "\t" ? "\u2192\t" : c; }
          function label(c) { return c === "\n" ? "\u21b5" : c === " " ? "\u2423" : c === "\t" ? "\u2192" : c; }
          // Surprisal: white at 0 bits through yellow and orange to red at 8 bits and above.
          const stops = [[0, [255, 255, 255]], [2, [255, 241, 168]], [4, [255, 179, 92]], [6, [240, 96, 60]], [8, [192, 38, 44]]];
          function heat(bits) {
            const b = Math.max(0, Math.min(8, bits));
            for (let k = 1; k < stops.length; k++) {
              if (b <= stops[k][0]) {
                const [b0, c0] = stops[k - 1], [b1, c1] = stops[k], f = (b - b0) / (b1 - b0);
                return "rgb(" + c0.map(function (x, i) { return Math.round(x + f * (c1[i] - x)); }).join(",") + ")";
              }
            }
            return "rgb(192,38,44)";
          }
          // Activations: blue −1, white 0, red +1 (light enough at the ends for black text).
          function diverging(v) {
            const x = Math.max(-1, Math.min(1, v)), f = Math.abs(x);
            const end = x < 0 ? [67, 120, 195] : [214, 70, 60];
            return [255 + f * (end[0] - 255), 255 + f * (end[1] - 255), 255 + f * (end[2] - 255)].map(Math.round);
          }
          function css(rgb) { return "rgb(" + rgb.join(",") + ")"; }

          function textView(id) {
            const box = document.getElementById(id), spans = [], frag = document.createDocumentFragment();
            for (let i = 0; i < chars.length; i++) {
              const s = document.createElement("span");
              s.textContent = show(chars[i]);
              if (chars[i] === "\n") s.className = "nl";
              s.dataset.i = i;
              spans.push(s);
              frag.appendChild(s);
            }
            box.appendChild(frag);
            return spans;
          }

          // Character i ≥ 1 was predicted at step i − 1.
          const sspans = textView("surprisal-text");
          for (let i = 1; i < chars.length; i++) {
            const bits = data.bits[i - 1];
            sspans[i].style.background = heat(bits);
            if (bits >= 6.5) sspans[i].style.color = "#fff";
            sspans[i].title = "'" + label(chars[i]) + "': " + bits.toFixed(2) + " bits\nafter '" + label(chars[i - 1])
              + "' the model expected:\n" + data.top[i - 1].map(function (p) {
                return "  '" + label(p[0]) + "' " + (100 * p[1]).toFixed(1) + "%";
              }).join("\n");
          }

          // Units: character t ≤ T − 1 coloured by h_t, the state after reading it.
          const uspans = textView("unit-text");
          const layerSelect = document.getElementById("unit-layer"), unitInput = document.getElementById("unit-index");
          const readout = document.getElementById("unit-readout"), rankingBox = document.getElementById("rankings");
          layers.forEach(function (_, l) {
            const o = document.createElement("option");
            o.value = l; o.textContent = String(l + 1);
            layerSelect.appendChild(o);
          });
          const names = { position_in_line: "position in line", inside_quotes: "inside quotes",
                          inside_brackets: "inside brackets", autocorrelation: "autocorrelation" };
          function current() {
            const j = Math.max(0, Math.min(O - 1, parseInt(unitInput.value, 10) || 0));
            return [parseInt(layerSelect.value, 10) || 0, j];
          }
          function drawRankings() {
            const [layer, unit] = current();
            rankingBox.textContent = "";
            layers[layer].rankings.forEach(function (r) {
              const col = document.createElement("div"), h = document.createElement("h3");
              h.textContent = names[r.feature] || r.feature;
              col.appendChild(h);
              if (r.top.length === 0) {
                const none = document.createElement("div");
                none.textContent = "(no unit: the feature is constant)";
                col.appendChild(none);
              }
              r.top.forEach(function (u) {
                const b = document.createElement("button");
                b.type = "button";
                b.textContent = "unit " + u[0] + "  r = " + (u[1] >= 0 ? "+" : "") + u[1].toFixed(2);
                if (u[0] === unit) b.className = "on";
                b.addEventListener("click", function () { unitInput.value = u[0]; colour(); });
                col.appendChild(b);
              });
              rankingBox.appendChild(col);
            });
          }
          function colour() {
            const [layer, unit] = current();
            unitInput.value = unit;
            for (let t = 0; t < uspans.length; t++) {
              if (t >= T) { uspans[t].style.background = ""; continue; }
              uspans[t].style.background = css(diverging(value(layer, t, unit)));
            }
            readout.textContent = "layer " + (layer + 1) + ", unit " + unit;
            drawRankings();
          }
          document.getElementById("unit-text").addEventListener("mouseover", function (ev) {
            const i = ev.target.dataset ? parseInt(ev.target.dataset.i, 10) : NaN;
            if (isNaN(i) || i >= T) return;
            const [layer, unit] = current();
            readout.textContent = "layer " + (layer + 1) + ", unit " + unit + ": step " + i + " '" + label(chars[i])
              + "' h = " + value(layer, i, unit).toFixed(3);
          });
          // Start from the unit that tracks a feature of the text best (largest |r| in any layer).
          let best = null;
          layers.forEach(function (l, li) {
            l.rankings.forEach(function (r) {
              if (r.feature === "autocorrelation" || r.top.length === 0) return;
              if (best === null || Math.abs(r.top[0][1]) > Math.abs(best[2])) best = [li, r.top[0][0], r.top[0][1]];
            });
          });
          if (best !== null) { layerSelect.value = best[0]; unitInput.value = best[1]; }
          layerSelect.addEventListener("change", colour);
          unitInput.addEventListener("input", colour);
          colour();

          // The heat map: one canvas per layer, a pixel per (unit, step), scaled up without smoothing.
          const H = data.heat_steps, maps = document.getElementById("heatmaps");
          const heatReadout = document.getElementById("heat-readout");
          const colWidth = Math.max(1, Math.min(6, Math.floor(1100 / Math.max(H, 1))));
          const rowHeight = Math.max(1, Math.min(6, Math.floor(360 / O)));
          layers.forEach(function (_, l) {
            const wrap = document.createElement("div"), cap = document.createElement("div");
            wrap.className = "heat";
            cap.textContent = "layer " + (l + 1) + ": " + O + " units \u00d7 " + H + " steps";
            const canvas = document.createElement("canvas");
            canvas.width = Math.max(H, 1); canvas.height = O;
            canvas.style.width = Math.max(H, 1) * colWidth + "px";
            canvas.style.height = O * rowHeight + "px";
            const ctx = canvas.getContext("2d"), img = ctx.createImageData(canvas.width, O);
            for (let j = 0; j < O; j++) {
              for (let t = 0; t < H; t++) {
                const rgb = diverging(value(l, t, j)), k = 4 * (j * canvas.width + t);
                img.data[k] = rgb[0]; img.data[k + 1] = rgb[1]; img.data[k + 2] = rgb[2]; img.data[k + 3] = 255;
              }
            }
            ctx.putImageData(img, 0, 0);
            canvas.addEventListener("mousemove", function (ev) {
              const r = canvas.getBoundingClientRect();
              const t = Math.floor((ev.clientX - r.left) / colWidth), j = Math.floor((ev.clientY - r.top) / rowHeight);
              if (t < 0 || t >= H || j < 0 || j >= O) return;
              heatReadout.textContent = "layer " + (l + 1) + ", unit " + j + ", step " + t + " '" + label(chars[t])
                + "': h = " + value(l, t, j).toFixed(3);
            });
            canvas.dataset.drawn = "1";
            wrap.appendChild(cap); wrap.appendChild(canvas);
            maps.appendChild(wrap);
          });
          document.body.dataset.ready = "1";
        })();
        """#
}
