import Foundation
import Recurrent

/// The ONNX export of a character model: `rnn export`.
///
/// The graph, batch first like the model, with the recurrent state explicit so that a caller
/// can stream: feed one chunk's `hn` (and `cn`) as the next chunk's `h0` (and `c0`).
///
///     tokens int64 (B, T) → Gather(embedding.weight (V, E)) → (B, T, E) → Transpose → (T, B, E)
///     per layer l: Slice h0[l] (and c0[l]) → LSTM | GRU | RNN (layout 0) → Y (T, 1, B, H) → Squeeze → (T, B, H)
///     Transpose → (B, T, H) → MatMul(head.weightᵀ (H, V)) → Add(head.bias (V)) → logits (B, T, V)
///     Concat of the layers' Y_h (and Y_c) → hn (and cn) (L, B, H)
///
/// Inputs `tokens` (batch, time), `h0` (L, batch, H), for LSTM `c0` (L, batch, H); outputs
/// `logits` (batch, time, V), `hn`, for LSTM `cn`; batch and time are symbolic. The recurrent
/// operators use layout 0 (time first) with Transposes around them, because ONNX Runtime's CPU
/// kernels refuse layout 1. Weights are PyTorch's with the gates reordered: ONNX's LSTM wants
/// i, o, f, c (PyTorch i, f, g, o); GRU z, r, h (PyTorch r, z, n) with `linear_before_reset = 1`,
/// which is PyTorch's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); B is [W_b, R_b].
/// The config JSON travels in the model's metadata as `config` (for the vocabulary).
package enum ONNXExport {
    /// The default-domain opset: LSTM, GRU and RNN at version 14, Squeeze/Slice with tensor inputs.
    public static let opsetVersion = 17
    /// IR version 8 goes with opset 17 (ONNX 1.12); every ONNX Runtime since 1.12 reads it.
    public static let irVersion = 8
    public static let producerName = "Recurrent"

    /// ONNX's operator for a cell kind: its op type, PyTorch's gate blocks in ONNX's order (ONNX
    /// block j is PyTorch block `gateOrder[j]`) and its attributes; nil where ONNX has none.
    static func onnxOperator(_ cell: CellKind) -> (opType: String, gateOrder: [Int], attributes: [ONNXAttribute])? {
        switch cell {
        case .lstm: return ("LSTM", [0, 3, 1, 2], [])   // i, o, f, c  ←  i, f, g, o
        case .gru: return ("GRU", [1, 0, 2], [ONNXAttribute("linear_before_reset", .int(1))])   // z, r, h ← r, z, n
        case .rnnTanh: return ("RNN", [0], [ONNXAttribute("activations", .strings(["Tanh"]))])
        case .rnnRelu: return ("RNN", [0], [ONNXAttribute("activations", .strings(["Relu"]))])
        default: return nil
        }
    }

    /// Reorders the gate blocks of a (G·H, cols) matrix or (G·H) vector.
    static func reorderGates(_ values: [Float], order: [Int], hidden h: Int, columns: Int) -> [Float] {
        let block = h * columns
        precondition(values.count == order.count * block)
        var out: [Float] = []
        out.reserveCapacity(values.count)
        for g in order { out.append(contentsOf: values[(g * block)..<((g + 1) * block)]) }
        return out
    }
}

extension CharLanguageModel {
    /// The model as an ONNX graph (see `ONNXExport`).
    /// - Throws: `RecurrentError.invalidArgument` for a cell ONNX has no operator for.
    package func onnxModel() throws -> ONNXModel {
        let c = configuration
        let (v, e, h, layers) = (c.vocabulary.count, c.embeddingSize, c.hiddenSize, c.layers)
        var weights: [String: [Float]] = [:]
        for entry in contractEntries() { weights[entry.name] = entry.floats }
        func weight(_ name: String) -> [Float] {
            guard let w = weights[name] else { preconditionFailure("the model has no parameter '\(name)'") }
            return w
        }

        guard let op = ONNXExport.onnxOperator(c.cell) else {
            throw RecurrentError.invalidArgument(name: "cell", value: c.cell.rawValue,
                                                 expected: "a cell ONNX has an operator for (lstm, gru, rnn_tanh, rnn_relu)")
        }
        if let p = c.projectedSize {
            throw RecurrentError.invalidArgument(name: "projection size", value: "\(p)",
                                                 expected: "none: ONNX's LSTM operator has no output projection")
        }
        let lstm = c.cell == .lstm
        let order = op.gateOrder
        let g = order.count
        let opType = op.opType
        let cellAttributes = [ONNXAttribute("hidden_size", .int(Int64(h)))] + op.attributes

        var initializers = [ONNXTensor(name: "embedding.weight", dims: [v, e], floats: weight("embedding.weight"))]
        var nodes = [
            ONNXNode("Gather", name: "embedding", inputs: ["embedding.weight", "tokens"], outputs: ["embedded"],
                     attributes: [ONNXAttribute("axis", .int(0))]),
            ONNXNode("Transpose", name: "time_first", inputs: ["embedded"], outputs: ["x_l0"],
                     attributes: [ONNXAttribute("perm", .ints([1, 0, 2]))]),
        ]
        if layers > 1 {
            initializers.append(ONNXTensor(name: "axes_0", dims: [1], int64s: [0]))
        }
        initializers.append(ONNXTensor(name: "axes_1", dims: [1], int64s: [1]))
        var finalH: [String] = [], finalC: [String] = []
        for l in 0..<layers {
            let input = l == 0 ? e : h
            let bias = ONNXExport.reorderGates(weight("rnn.bias_ih_l\(l)"), order: order, hidden: h, columns: 1)
                + ONNXExport.reorderGates(weight("rnn.bias_hh_l\(l)"), order: order, hidden: h, columns: 1)
            initializers += [
                ONNXTensor(name: "rnn.W_l\(l)", dims: [1, g * h, input],
                           floats: ONNXExport.reorderGates(weight("rnn.weight_ih_l\(l)"), order: order, hidden: h, columns: input)),
                ONNXTensor(name: "rnn.R_l\(l)", dims: [1, g * h, h],
                           floats: ONNXExport.reorderGates(weight("rnn.weight_hh_l\(l)"), order: order, hidden: h, columns: h)),
                ONNXTensor(name: "rnn.B_l\(l)", dims: [1, 2 * g * h], floats: bias),
            ]
            // One layer alone reads h0 (1, B, H) as it is and writes hn directly; a stack slices
            // each layer's state out of (L, B, H) and concatenates the final states at the end.
            var h0 = "h0", c0 = "c0", hn = "hn", cn = "cn"
            if layers > 1 {
                initializers += [ONNXTensor(name: "start_l\(l)", dims: [1], int64s: [Int64(l)]),
                                 ONNXTensor(name: "end_l\(l)", dims: [1], int64s: [Int64(l + 1)])]
                (h0, c0, hn, cn) = ("h0_l\(l)", "c0_l\(l)", "hn_l\(l)", "cn_l\(l)")
                nodes.append(ONNXNode("Slice", name: "h0_l\(l)", inputs: ["h0", "start_l\(l)", "end_l\(l)", "axes_0"], outputs: [h0]))
                if lstm {
                    nodes.append(ONNXNode("Slice", name: "c0_l\(l)", inputs: ["c0", "start_l\(l)", "end_l\(l)", "axes_0"], outputs: [c0]))
                }
            }
            finalH.append(hn)
            finalC.append(cn)
            // Inputs X, W, R, B, sequence_lens (none: every row runs all T steps), initial_h, initial_c.
            nodes.append(ONNXNode(opType, name: "rnn_l\(l)",
                                  inputs: ["x_l\(l)", "rnn.W_l\(l)", "rnn.R_l\(l)", "rnn.B_l\(l)", "", h0] + (lstm ? [c0] : []),
                                  outputs: ["y_l\(l)", hn] + (lstm ? [cn] : []), attributes: cellAttributes))
            // Y (T, 1, B, H) → (T, B, H): the next layer's input, or the head's.
            nodes.append(ONNXNode("Squeeze", name: "squeeze_l\(l)", inputs: ["y_l\(l)", "axes_1"],
                                  outputs: [l + 1 < layers ? "x_l\(l + 1)" : "top"]))
        }
        let headWeight = weight("head.weight")   // (V, H) → (H, V) for MatMul
        var transposed = [Float](repeating: 0, count: v * h)
        for i in 0..<v { for j in 0..<h { transposed[j * v + i] = headWeight[i * h + j] } }
        initializers += [ONNXTensor(name: "head.weight_t", dims: [h, v], floats: transposed),
                         ONNXTensor(name: "head.bias", dims: [v], floats: weight("head.bias"))]
        nodes += [
            ONNXNode("Transpose", name: "batch_first", inputs: ["top"], outputs: ["top_batch_first"],
                     attributes: [ONNXAttribute("perm", .ints([1, 0, 2]))]),
            ONNXNode("MatMul", name: "head_matmul", inputs: ["top_batch_first", "head.weight_t"], outputs: ["head_product"]),
            ONNXNode("Add", name: "head_bias", inputs: ["head_product", "head.bias"], outputs: ["logits"]),
        ]
        if layers > 1 {
            nodes.append(ONNXNode("Concat", name: "hn", inputs: finalH, outputs: ["hn"], attributes: [ONNXAttribute("axis", .int(0))]))
            if lstm {
                nodes.append(ONNXNode("Concat", name: "cn", inputs: finalC, outputs: ["cn"], attributes: [ONNXAttribute("axis", .int(0))]))
            }
        }

        let batch = ONNXDimension.param("batch"), time = ONNXDimension.param("time")
        let state: [ONNXDimension] = [.value(layers), batch, .value(h)]
        let inputs = [ONNXValueInfo(name: "tokens", elementType: .int64, shape: [batch, time]),
                      ONNXValueInfo(name: "h0", elementType: .float, shape: state)]
            + (lstm ? [ONNXValueInfo(name: "c0", elementType: .float, shape: state)] : [])
        let outputs = [ONNXValueInfo(name: "logits", elementType: .float, shape: [batch, time, .value(v)]),
                       ONNXValueInfo(name: "hn", elementType: .float, shape: state)]
            + (lstm ? [ONNXValueInfo(name: "cn", elementType: .float, shape: state)] : [])
        let graph = ONNXGraph(name: "char_\(c.cell.rawValue)", nodes: nodes, initializers: initializers, inputs: inputs,
                              outputs: outputs)
        return ONNXModel(irVersion: ONNXExport.irVersion, opsetVersion: ONNXExport.opsetVersion,
                         producerName: ONNXExport.producerName, graph: graph, metadata: [("config", c.json)])
    }
}

/// What `exportONNX` wrote.
public struct ONNXExportSummary: Sendable {
    public let path: String
    public let configuration: CharModelConfiguration
    public let bytes: Int
}

/// Writes a character-model checkpoint as an ONNX file (see `ONNXExport`), atomically: a
/// failure leaves no file, and an existing file is replaced only by a complete one.
/// - Parameters:
///   - checkpoint: a character-model checkpoint (.safetensors, `config` metadata).
///   - output: the .onnx file to write; its folder must exist.
/// - Throws: `RecurrentError.invalidFile` for a file that is not a character-model checkpoint
///   (task models included), `RecurrentError.io` when it cannot be read or the output written,
///   `RecurrentError.invalidArgument` when the output would overwrite the checkpoint.
@discardableResult
public func exportONNX(checkpoint: String, to output: String) throws -> ONNXExportSummary {
    let file = try SafetensorsFile(contentsOf: checkpoint)
    let only = "only character-model checkpoints export to ONNX (from rnn train, or PyTorch under the README's checkpoint contract)"
    if file.metadata["task"] != nil {
        throw RecurrentError.invalidFile(path: checkpoint, reason: "a task-model checkpoint (\"task\" metadata, from rnn fit): \(only)")
    }
    if file.metadata["config"] == nil {
        throw RecurrentError.invalidFile(path: checkpoint, reason: "no \"config\" metadata: \(only)")
    }
    let model = try CharLanguageModel(checkpoint: file)
    try checkOutputFile(output, notOverwriting: [checkpoint])
    let bytes = try model.onnxModel().serialized()
    try writeAtomically(bytes, to: output)
    return ONNXExportSummary(path: output, configuration: model.configuration, bytes: bytes.count)
}
