import Foundation
import Recurrent

/// `rnn explain --data`'s page: a task model's `TaskExplanation` as one self-contained HTML file
/// (inline CSS, SVG and script; nothing fetched), in the style of the character model's
/// `ExplanationReport`.
///
/// Sections, each a `<section id=…>`: `examples` (a table: each example's input, prediction and
/// target) and, by kind, `formation` (classify, regress with one direction: per example an SVG
/// line of the predicted label's probability, or of each value, after each step, the input
/// tokens along the x axis), `tags` (per example the input tokens with the predicted label
/// under each, shaded by its probability, the true label beside a wrong one), or `outputs`
/// (seq2seq, caption: the greedy output tokens shaded by probability) and, with attention,
/// `attention` (per example a heat-map table, output tokens × source tokens).
///
/// The explanation is embedded once, as its JSON (`TaskExplanation.json`) in `<script
/// type="application/json" id="explain-data">`; the script sets `data-ready` on `<body>` after
/// checking it.
public struct TaskExplanationReport: Sendable {
    public let explanation: TaskExplanation
    /// The checkpoint's and the data's paths, as the user gave them.
    public let checkpoint: String
    public let data: String

    public init(_ explanation: TaskExplanation, checkpoint: String, data: String) {
        self.explanation = explanation
        self.checkpoint = checkpoint
        self.data = data
    }

    static let escape = ExplanationReport.escape
    static func format(_ x: Double) -> String { x.isFinite ? String(format: "%.4g", x) : "—" }

    /// The `index`th example's prediction's text: the label, the values, the tags or the output.
    func describe(_ p: TaskPrediction, _ index: Int) -> String {
        let labels = explanation.labels
        switch p {
        case let .label(i, prob): return "\(labels[i]) (\(String(format: "%.1f", 100 * prob))%)"
        case let .values(v): return v.map(Self.format).joined(separator: ", ")
        case let .tags(t, _): return t.map { labels[$0] }.joined(separator: " ")
        case let .tokens(ids, _): return ids.isEmpty ? "(empty: <eos> first)" : explanation.predictionTexts[index]
        }
    }

    /// An example's target's text, or "—".
    func target(_ e: TaskExplanation.Example) -> String {
        if let t = e.labelTargets { return t.map { explanation.labels[$0] }.joined(separator: " ") }
        if let v = e.valueTargets { return v.map(Self.format).joined(separator: ", ") }
        if let t = e.tokenTarget { return t }
        return "—"
    }

    /// The example's name: its id, or its line.
    static func name(_ e: TaskExplanation.Example) -> String { e.id.map { "id \($0)" } ?? "line \(e.line)" }

    /// One example's formation as an SVG line chart: a point per step; classify the probability of
    /// the final label (0 to 1, the 1/labels chance level dashed), regress each value (the y axis
    /// spans the values and the target). Input tokens label the x axis, steps where the argmax
    /// label differs from the final one are drawn hollow.
    func formation(_ e: TaskExplanation.Example) -> String {
        let x = explanation
        let n = e.steps.count
        let (left, top, right, height) = (48.0, 10.0, 16.0, 150.0)
        let step = max(14.0, min(44.0, 900.0 / Double(max(n, 1))))
        let width = left + step * Double(max(n - 1, 1)) + right
        func px(_ i: Int) -> Double { left + step * Double(i) }
        var series: [[Double]] = [], low = 0.0, high = 1.0
        var finalLabel: Int?
        if x.kind == .classify, case let .label(f, _) = e.prediction {
            finalLabel = f
            series = [e.steps.map { $0.probabilities[f] }]
        } else {
            let outputs = e.steps.first?.values.count ?? 0
            series = (0..<outputs).map { j in e.steps.map { $0.values[j] } }
            let all = series.flatMap { $0 } + (e.valueTargets ?? [])
            low = all.min() ?? 0
            high = all.max() ?? 1
            if high - low < 1e-9 { low -= 0.5; high += 0.5 }
            let pad = 0.08 * (high - low)
            low -= pad; high += pad
        }
        func py(_ v: Double) -> Double { top + (high - v) / (high - low) * height }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let labelRow = top + height + 14
        // Rotated token labels (at most 10 characters) reach down about 6 px per character.
        let longest = min(10, e.steps.map(\.input.count).max() ?? 1)
        var svg = "<svg width=\"\(Int(width.rounded(.up)))\" height=\"\(Int(labelRow + 10 + 6 * Double(longest)))\" role=\"img\" "
            + "aria-label=\"\(Self.escape(Self.name(e))) formation\">"
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(width - left - right))\" height=\"\(f(height))\" class=\"plot\"/>"
        let ticks = x.kind == .classify ? [0, 0.5, 1] : [low, (low + high) / 2, high]
        for v in ticks {
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(py(v)))\" y2=\"\(f(py(v)))\" class=\"grid\"/>"
            svg += "<text x=\"\(f(left - 5))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(Self.format(v))</text>"
        }
        if x.kind == .classify, !x.labels.isEmpty {
            let chance = 1 / Double(x.labels.count)
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(py(chance)))\" y2=\"\(f(py(chance)))\" class=\"chance\">"
                + "<title>chance: 1/\(x.labels.count)</title></line>"
        }
        for (j, t) in (e.valueTargets ?? []).enumerated() {
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\" class=\"target\" "
                + "stroke=\"\(ExplanationReport.layerColours[j % ExplanationReport.layerColours.count])\">"
                + "<title>target\(series.count > 1 ? " \(j + 1)" : ""): \(Self.format(t))</title></line>"
        }
        for (j, values) in series.enumerated() {
            let colour = ExplanationReport.layerColours[j % ExplanationReport.layerColours.count]
            let points = values.enumerated().map { "\(f(px($0))),\(f(py($1)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
            for (i, v) in values.enumerated() {
                let s = e.steps[i]
                var title = "after '\(Self.escape(s.input))' (step \(i + 1)): "
                var hollow = false
                if let finalLabel, let l = s.label {
                    title += "p(\(Self.escape(x.labels[finalLabel]))) = \(String(format: "%.3f", v)); likeliest "
                        + "\(Self.escape(x.labels[l])) (\(String(format: "%.3f", s.probabilities[l])))"
                    hollow = l != finalLabel
                } else {
                    title += (series.count > 1 ? "value \(j + 1) = " : "") + Self.format(v)
                }
                svg += "<circle cx=\"\(f(px(i)))\" cy=\"\(f(py(v)))\" r=\"3.5\" stroke=\"\(colour)\" "
                    + "fill=\"\(hollow ? "#fff" : colour)\"><title>\(title)</title></circle>"
            }
        }
        for (i, s) in e.steps.enumerated() {
            let token = s.input.count > 10 ? String(s.input.prefix(9)) + "…" : s.input
            svg += "<text transform=\"translate(\(f(px(i) + 4)) \(f(labelRow))) rotate(-50)\" text-anchor=\"end\" class=\"token\">"
                + "\(Self.escape(token))</text>"
        }
        return svg + "</svg>"
    }

    /// One example's tags: a cell per step, the token over the predicted label, shaded by its
    /// probability; a wrong label is marked, with the true one under it.
    func tags(_ e: TaskExplanation.Example) -> String {
        let labels = explanation.labels
        var row = "<div class=\"tags\">"
        for (i, s) in e.steps.enumerated() {
            guard let l = s.label else { continue }
            let p = s.probabilities[l]
            let truth = e.labelTargets.flatMap { i < $0.count ? $0[i] : nil }
            let wrong = truth.map { $0 != l } ?? false
            let shade = String(format: "rgba(47,138,60,%.2f)", 0.1 + 0.6 * p)
            row += "<div class=\"tag\(wrong ? " wrong" : "")\" title=\"step \(i + 1): \(Self.escape(labels[l])) "
                + "\(String(format: "%.1f", 100 * p))%\(truth.map { ", true \(Self.escape(labels[$0]))" } ?? "")\">"
                + "<span class=\"tok\">\(Self.escape(s.input))</span>"
                + "<span class=\"lab\" style=\"background:\(shade)\">\(Self.escape(labels[l]))</span>"
                + "<span class=\"p\">\(String(format: "%.0f", 100 * p))%</span>"
                + (wrong ? "<span class=\"truth\">\(Self.escape(labels[truth!]))</span>" : "") + "</div>"
        }
        return row + "</div>"
    }

    /// A seq2seq or caption example's output tokens, each shaded by its probability.
    func outputs(_ e: TaskExplanation.Example) -> String {
        var row = "<div class=\"tags\">"
        for (i, o) in e.outputs.enumerated() {
            let shade = String(format: "rgba(47,138,60,%.2f)", 0.1 + 0.6 * o.probability)
            row += "<div class=\"tag\" title=\"output \(i + 1): \(Self.escape(o.token)) \(String(format: "%.1f", 100 * o.probability))%\">"
                + "<span class=\"lab\" style=\"background:\(shade)\">\(Self.escape(o.token))</span>"
                + "<span class=\"p\">\(String(format: "%.0f", 100 * o.probability))%</span></div>"
        }
        return row + "</div>"
    }

    /// A seq2seq example's attention as a heat-map table: a row per output token, a column per source token.
    func attention(_ e: TaskExplanation.Example) -> String {
        var table = "<table class=\"heat\"><thead><tr><th></th>"
        for token in e.inputs { table += "<th>\(Self.escape(token))</th>" }
        table += "</tr></thead><tbody>"
        for o in e.outputs {
            table += "<tr><th>\(Self.escape(o.token))</th>"
            for (j, a) in o.attention.enumerated() {
                let source = j < e.inputs.count ? e.inputs[j] : "step \(j + 1)"
                table += "<td style=\"background:rgba(36,98,168,\(String(format: "%.3f", a)))\"\(a > 0.55 ? " class=\"dark\"" : "")"
                    + " title=\"\(Self.escape(o.token)) ← \(Self.escape(source)): \(String(format: "%.3f", a))\">"
                    + "\(String(format: "%.2f", a))</td>"
            }
            table += "</tr>"
        }
        return table + "</tbody></table>"
    }

    /// The whole page.
    public func html() -> String {
        let x = explanation, esc = Self.escape
        let kind = x.kind.rawValue
        let summary: String
        switch x.kind {
        case .classify, .regress:
            summary = ", pooling \(x.pooling.rawValue)\(x.bidirectional ? ", bidirectional" : "")"
                + (x.kind == .regress ? "" : ", \(x.labels.count) labels")
        case .tag: summary = "\(x.bidirectional ? ", bidirectional" : ""), \(x.labels.count) labels"
        case .seq2seq: summary = "\(x.bidirectional ? ", bidirectional encoder" : ""), \(x.attention ? "with" : "no") attention"
        case .caption: summary = ""
        }
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>rnn explain: \(esc(checkpoint))</title>
            <style>\(ExplanationReport.css)\(Self.css)</style>
            </head><body>
            <header id="model"><h1>Inside a \(esc(kind)) model</h1>
            <dl>
            <dt>task</dt><dd>\(esc(kind))\(summary)</dd>
            <dt>checkpoint</dt><dd><code>\(esc(checkpoint))</code></dd>
            <dt>data</dt><dd><code>\(esc(data))</code>: \(x.examples.count) of \(x.total) examples shown\
            \(x.skipped.isEmpty ? "" : ", \(x.skipped.count) bad lines skipped")</dd>
            </dl>
            </header>
            <section id="examples"><h2>Examples</h2>
            <table class="examples"><thead><tr><th>example</th><th>input</th><th>prediction</th><th>target</th></tr></thead><tbody>

            """
        for (index, e) in x.examples.enumerated() {
            let right: Bool? = {
                if let t = e.tokenTarget { return t == x.predictionTexts[index] }
                guard let t = e.labelTargets else { return nil }
                switch e.prediction {
                case let .label(i, _): return t == [i]
                case let .tags(tags, _): return t == tags
                default: return nil
                }
            }()
            var shown = describe(e.prediction, index)
            if case let .tags(tags, _) = e.prediction, let t = e.labelTargets, t.count == tags.count {
                shown += " (\(zip(tags, t).filter { $0 == $1 }.count)/\(t.count) steps right)"
            }
            let input = e.inputText
            page += "<tr><td>\(esc(Self.name(e)))</td><td class=\"input\">\(esc(input.count > 120 ? String(input.prefix(119)) + "…" : input))"
                + "</td><td class=\"\(right == nil ? "" : right! ? "right" : "wrong")\">\(esc(shown))</td>"
                + "<td>\(esc(target(e)))</td></tr>\n"
        }
        page += "</tbody></table>\n</section>\n"
        switch x.kind {
        case .classify, .regress:
            page += "<section id=\"formation\"><h2>How the prediction formed</h2>\n"
            if x.hasFormation {
                let what = x.kind == .classify
                    ? "the probability of the label finally predicted (dashed: chance, 1/\(x.labels.count); a hollow dot where "
                        + "another label was likelier at that step)"
                    : "the predicted value\(x.examples.first.map { ($0.steps.first?.values.count ?? 1) > 1 } == true ? "s, one colour each" : "")"
                        + " (dotted: the target, when the example has one)"
                let state = x.pooling == .mean ? "the mean of the top layer's h<sub>1</sub>…h<sub>t</sub>"
                    : "the top layer's h<sub>t</sub>"
                page += "<p>The model's head applied after each step to \(state), so the last point is the prediction: "
                    + "\(what), against the input read so far. Hover over a point for its numbers.</p>\n"
                page += "<div class=\"formations\">"
                for (index, e) in x.examples.enumerated() {
                    page += "<figure class=\"formation\"><figcaption>\(esc(Self.name(e))): \(esc(describe(e.prediction, index)))"
                        + "</figcaption>\(formation(e))</figure>\n"
                }
                page += "</div>\n"
            } else {
                page += "<p class=\"warn\">A bidirectional model: its state at a step also depends on the steps after it, so "
                    + "there is no prediction after each step to show, only the final one (above).</p>\n"
            }
            page += "</section>\n"
        case .tag:
            page += "<section id=\"tags\"><h2>Tags, step by step</h2>\n<p>Each input token over the label the model gives it, "
                + "shaded by that label's probability; where the example has targets, a wrong label is outlined in red with "
                + "the true one under it. Hover for the numbers.</p>\n"
            for e in x.examples {
                page += "<figure class=\"tagged\"><figcaption>\(esc(Self.name(e)))</figcaption>\(tags(e))</figure>\n"
            }
            page += "</section>\n"
        case .seq2seq, .caption:
            page += "<section id=\"outputs\"><h2>Output, token by token</h2>\n<p>The greedy output (as <code>rnn predict</code> "
                + "with beam 1): each token the model produced, shaded by its probability at that step; the last is &lt;eos&gt; "
                + "when decoding reached it.</p>\n"
            for (index, e) in x.examples.enumerated() {
                page += "<figure class=\"tagged\"><figcaption>\(esc(Self.name(e))): \(esc(describe(e.prediction, index)))"
                    + "</figcaption>\(outputs(e))</figure>\n"
            }
            page += "</section>\n"
            if x.attention {
                page += "<section id=\"attention\"><h2>Attention</h2>\n<p>Per example, a row per output token and a column per "
                    + "source token: the weights the decoder gave the source steps when producing that token (each row sums "
                    + "to 1; darker is more). Hover over a cell for its weight.</p>\n<div class=\"formations\">"
                for e in x.examples {
                    page += "<figure class=\"attention\"><figcaption>\(esc(Self.name(e)))</figcaption>\(attention(e))</figure>\n"
                }
                page += "</div>\n</section>\n"
            }
        }
        page += """
            <footer>Written by <code>rnn explain</code>; <code>rnn explain --json</code> writes the same numbers.</footer>
            <script type="application/json" id="explain-data">\(ExplanationReport.scriptSafe(x.json()))</script>
            <script>\(Self.script)</script>
            </body></html>
            """
        return page
    }

    static let css = """

        table.examples{border-collapse:collapse;font-size:13px;margin:6px 0}
        .examples th,.examples td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
        .examples th{background:#f6f6f6}.examples td.input{font-family:ui-monospace,"DejaVu Sans Mono",monospace;max-width:520px}
        .examples td.right{color:#1d6b2b}.examples td.wrong{color:#a40000}
        .formations{display:flex;flex-wrap:wrap;gap:0 28px}figure.formation,figure.tagged,figure.attention{margin:10px 0 14px}figure figcaption{font-size:13px;color:#333;margin-bottom:2px}
        .formation svg text{font-size:11px;fill:#333}.formation .plot{fill:#fafafa;stroke:#999}
        .formation .grid{stroke:#e4e4e4}.formation .chance{stroke:#999;stroke-dasharray:5 4}
        .formation .target{stroke-dasharray:2 3;stroke-width:1.5}
        .formation text.token{font-family:ui-monospace,"DejaVu Sans Mono",monospace}
        .tags{display:flex;flex-wrap:wrap;gap:4px}.tag{display:flex;flex-direction:column;align-items:center;\
        border:1px solid #ddd;padding:2px 4px;font-size:12px;min-width:44px}
        .tag .tok{font-family:ui-monospace,"DejaVu Sans Mono",monospace}.tag .lab{padding:0 4px;border-radius:3px}
        table.heat{border-collapse:collapse;font:11px ui-monospace,"DejaVu Sans Mono",monospace}
        .heat th{font-weight:normal;padding:2px 4px;color:#333}.heat td{width:34px;height:22px;text-align:center;\
        border:1px solid #eee;color:#333}.heat td.dark{color:#fff}
        .tag .p{color:#666;font-size:11px}.tag.wrong{border-color:#c0262c}.tag .truth{color:#a40000;font-size:11px}
        """

    /// The page is drawn on the server side; the script checks the embedded data against it.
    static let script = #"""
        (function () {
          "use strict";
          const data = JSON.parse(document.getElementById("explain-data").textContent);
          const rows = document.querySelectorAll("table.examples tbody tr").length;
          if (rows !== data.examples.length) throw new Error("examples: " + rows + " rows, " + data.examples.length + " in the data");
          document.body.dataset.ready = "1";
        })();
        """#
}
