import Foundation

/// How `Attention` scores a decoder step against an encoder step.
///
/// - dot: score(d, e) = d·e (Luong et al. 2015; needs Hd == He).
/// - general: score(d, e) = d·W_a·e (Luong et al. 2015).
/// - additive: score(d, e) = v·tanh(W_1·e + W_2·d) (Bahdanau et al. 2015).
public enum AttentionKind: String, CaseIterable, Sendable {
    case dot, general, additive
}

/// Global attention over encoder outputs, placed after the decoder RNN as Luong et al. (2015)
/// place it (no input feeding), so it runs over all decoder steps at once.
///
/// For each row b and decoder step t, over the row's valid source steps s < len_b:
///
///     score_ts = dot: d_t·e_s   general: d_t·W_a·e_s   additive: v·tanh(W_1·e_s + W_2·d_t)
///     α_ts     = softmax_s(score_ts)                      (0 for s ≥ len_b)
///     c_t      = Σ_s α_ts·e_s
///     h̃_t      = tanh(W_c·[c_t; d_t] + b_c)
///
/// Shapes: decoder outputs d (B, T, Hd), encoder outputs e (B, S, He), source lengths (B),
/// weights α (B, T, S), context c (B, T, He), output h̃ (B, T, Hd). The encoder side of the
/// score is a "key" K (B, S, Hk) computed once per source batch: K = e for dot (Hk = He),
/// K = e·W_aᵀ for general (Hk = Hd), K = e·W_1ᵀ for additive (Hk = A = Hd).
///
/// Parameters (PyTorch-style names under `prefix`): general `score.weight` W_a (Hd, He);
/// additive `key.weight` W_1 (A, He), `query.weight` W_2 (A, Hd), `v.weight` v (1, A);
/// every kind `combine.weight` W_c (Hd, He + Hd) and `combine.bias` b_c (Hd).
///
/// A row whose source length is 0 attends to nothing: α = 0 and c = 0.
public struct Attention: Sendable {
    public let kind: AttentionKind
    /// Hd: width of the decoder outputs and of h̃.
    public let decoderSize: Int
    /// He: width of the encoder outputs.
    public let encoderSize: Int
    /// general: W_a (Hd, He); additive: W_1 (A, He); nil for dot.
    public let keyWeight: Parameter?
    /// additive: W_2 (A, Hd).
    public let queryWeight: Parameter?
    /// additive: v (1, A).
    public let scoreVector: Parameter?
    /// W_c (Hd, He + Hd) over [c; d], and b_c (Hd).
    public let combine: Linear

    /// A: the width of additive attention's hidden layer (= Hd).
    public var attentionSize: Int { decoderSize }
    /// Hk: the width of the keys K.
    public var keySize: Int { kind == .dot ? encoderSize : decoderSize }

    /// Registers the parameters of `kind` under `prefix`, with PyTorch's nn.Linear
    /// initialisation U(±1/√fan-in).
    /// - Throws: `RecurrentError.invalidArgument` for sizes below 1, `RecurrentError.shapeMismatch`
    ///   for dot attention with Hd ≠ He.
    public init(kind: AttentionKind, decoderSize: Int, encoderSize: Int, prefix: String = "attention",
                layout: inout ParameterLayout) throws {
        try require(decoderSize >= 1, .invalidArgument(name: "attention decoder size", value: "\(decoderSize)",
                                                       expected: "at least 1"))
        try require(encoderSize >= 1, .invalidArgument(name: "attention encoder size", value: "\(encoderSize)",
                                                       expected: "at least 1"))
        if kind == .dot {
            try require(decoderSize == encoderSize, .shapeMismatch(
                operation: "dot attention (score d·e needs equal widths; use general or additive otherwise)",
                expected: "Hd == He", found: "Hd = \(decoderSize), He = \(encoderSize)"))
        }
        self.kind = kind
        self.decoderSize = decoderSize
        self.encoderSize = encoderSize
        func uniform(_ fanIn: Int) -> Initializer {
            let bound = 1 / Float(fanIn).squareRoot()
            return .uniform(low: -bound, high: bound)
        }
        switch kind {
        case .dot:
            keyWeight = nil
            queryWeight = nil
            scoreVector = nil
        case .general:
            keyWeight = layout.add("\(prefix).score.weight", rows: decoderSize, cols: encoderSize,
                                   initializer: uniform(encoderSize))
            queryWeight = nil
            scoreVector = nil
        case .additive:
            keyWeight = layout.add("\(prefix).key.weight", rows: decoderSize, cols: encoderSize,
                                   initializer: uniform(encoderSize))
            queryWeight = layout.add("\(prefix).query.weight", rows: decoderSize, cols: decoderSize,
                                     initializer: uniform(decoderSize))
            scoreVector = layout.add("\(prefix).v.weight", rows: 1, cols: decoderSize, initializer: uniform(decoderSize))
        }
        combine = Linear("\(prefix).combine", inputSize: encoderSize + decoderSize, outputSize: decoderSize,
                         layout: &layout)
    }

    // MARK: Whole sequences

    /// Attends every decoder step to the encoder outputs; keeps in `workspace` what `backward`
    /// needs.
    /// - Parameters:
    ///   - decoder: d (B, T, Hd).
    ///   - encoder: e (B, S, He).
    ///   - sourceLengths: valid source steps per row (B), each in 0...S; nil means all S.
    ///   - output: h̃ (B, T, Hd), written.
    ///   - weights: α (B, T, S), written when given.
    public func forward(decoder d: UnsafePointer<Float>, batch b: Int, steps t: Int,
                        encoder e: UnsafePointer<Float>, sourceSteps s: Int, sourceLengths: UnsafePointer<Int32>?,
                        output: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>? = nil,
                        workspace ws: AttentionWorkspace, arena: ParameterArena) {
        prepare(encoder: e, batch: b, sourceSteps: s, workspace: ws, arena: arena)
        attend(decoder: d, batch: b, steps: t, encoder: e, sourceSteps: s, sourceLengths: sourceLengths,
               output: output, weights: weights, workspace: ws, arena: arena)
    }

    /// Backward of `forward`, same argument order, after `forward` with the same workspace.
    /// Parameter gradients accumulate into the arena; `decoderGradient` (B, T, Hd) and
    /// `encoderGradient` (B, S, He) accumulate (+=) when given.
    ///
    ///     ∂z = ∂h̃ ⊙ (1 − h̃²);  [∂c; ∂d] = ∂z·W_c;  ∂α_ts = ∂c_t·e_s;  ∂e_s += Σ_t α_ts ∂c_t
    ///     ∂score_ts = α_ts (∂α_ts − Σ_s' α_ts' ∂α_ts')
    /// then through the score: dot ∂d_t += Σ_s ∂score_ts e_s, ∂e_s += Σ_t ∂score_ts d_t;
    /// general and additive through the keys K and (additive) the queries W_2·d.
    /// - Parameter outputGradient: ∂L/∂h̃ (B, T, Hd).
    public func backward(decoder d: UnsafePointer<Float>, batch b: Int, steps t: Int,
                         encoder e: UnsafePointer<Float>, sourceSteps s: Int, sourceLengths: UnsafePointer<Int32>?,
                         outputGradient dh: UnsafePointer<Float>, decoderGradient dd: UnsafeMutablePointer<Float>?,
                         encoderGradient de: UnsafeMutablePointer<Float>?,
                         workspace ws: AttentionWorkspace, arena: ParameterArena) {
        precondition(ws.batch == b && ws.steps == t && ws.sourceSteps == s,
                     "Attention.backward needs the workspace of its forward")
        let (hd, he, hk) = (decoderSize, encoderSize, keySize)
        let hc = he + hd
        let rows = b * t
        let out = ws.buffers(.output, rows * hd)
        let alpha = ws.buffers(.weights, rows * s)
        let concat = ws.buffers(.concat, rows * hc)
        let keys = kind == .dot ? e : UnsafePointer(ws.buffers(.keys, b * s * hk))

        // ∂z = ∂h̃ ⊙ tanh'(z), with tanh' read off h̃.
        let dz = ws.buffers(.outputGradient, rows * hd)
        for i in 0..<(rows * hd) { dz[i] = dh[i] * (1 - out[i] * out[i]) }
        let dConcat = ws.buffers(.concatGradient, rows * hc)
        dConcat.update(repeating: 0, count: rows * hc)
        combine.backward(concat, rows: rows, outputGradient: dz, inputGradient: dConcat, arena: arena)
        if let dd {
            for r in 0..<rows {
                let src = dConcat + r * hc + he, dst = dd + r * hd
                for j in 0..<hd { dst[j] += src[j] }
            }
        }

        // Through the context c_t = Σ_s α_ts e_s and the softmax, one GEMM pair per row.
        let dAlpha = ws.buffers(.weightsGradient, rows * s)
        for r in 0..<b {
            let n = length(sourceLengths, r, s)
            let a = alpha + r * t * s, da = dAlpha + r * t * s, dc = dConcat + r * t * hc, er = e + r * s * he
            // ∂α (T, len) = ∂c (T, He)·e (len, He)ᵀ
            GEMM.multiply(transB: true, m: t, n: n, k: he, a: dc, lda: hc, b: er, ldb: he, beta: 0, c: da, ldc: s)
            // ∂e (len, He) += αᵀ (len, T)·∂c (T, He)
            if let de {
                GEMM.multiply(transA: true, m: n, n: he, k: t, a: a, lda: s, b: dc, ldb: hc, beta: 1,
                              c: de + r * s * he, ldc: he)
            }
            for i in 0..<t {
                let ai = a + i * s, dai = da + i * s
                var dot: Float = 0
                for j in 0..<n { dot += ai[j] * dai[j] }
                for j in 0..<n { dai[j] = ai[j] * (dai[j] - dot) }
                for j in n..<s { dai[j] = 0 }
            }
        }

        // Through the score into d, the keys K and the parameters.
        switch kind {
        case .dot, .general:
            let dKeys = kind == .general ? ws.buffers(.keysGradient, b * s * hk) : nil
            dKeys?.update(repeating: 0, count: b * s * hk)
            for r in 0..<b {
                let n = length(sourceLengths, r, s)
                let ds = dAlpha + r * t * s, dr = d + r * t * hd, kr = keys + r * s * hk
                // ∂d (T, Hd) += ∂score (T, len)·K (len, Hk)
                if let dd {
                    GEMM.multiply(m: t, n: hd, k: n, a: ds, lda: s, b: kr, ldb: hk, beta: 1, c: dd + r * t * hd, ldc: hd)
                }
                // ∂K (len, Hk) += ∂scoreᵀ (len, T)·d (T, Hd): for dot K = e, so straight into ∂e.
                if let dKeys {
                    GEMM.multiply(transA: true, m: n, n: hk, k: t, a: ds, lda: s, b: dr, ldb: hd, beta: 1,
                                  c: dKeys + r * s * hk, ldc: hk)
                } else if let de {
                    GEMM.multiply(transA: true, m: n, n: he, k: t, a: ds, lda: s, b: dr, ldb: hd, beta: 1,
                                  c: de + r * s * he, ldc: he)
                }
            }
            if let dKeys, let w = keyWeight {
                keysBackward(encoder: e, rows: b * s, keysGradient: dKeys, weight: w, encoderGradient: de, arena: arena)
            }
        case .additive:
            let a = attentionSize
            let u = ws.buffers(.hidden, rows * s * a)
            let dKeys = ws.buffers(.keysGradient, b * s * a), dQuery = ws.buffers(.queryGradient, rows * a)
            dKeys.update(repeating: 0, count: b * s * a)
            dQuery.update(repeating: 0, count: rows * a)
            let v = arena.value(scoreVector!), dv = arena.gradient(scoreVector!)
            for r in 0..<b {
                let n = length(sourceLengths, r, s)
                for i in 0..<t {
                    let row = r * t + i
                    let dq = dQuery + row * a
                    for j in 0..<n {
                        // score = v·u with u = tanh(K_s + Q_t): ∂pre = ∂score·v ⊙ (1 − u²).
                        let g = dAlpha[row * s + j]
                        let uj = u + (row * s + j) * a, dk = dKeys + (r * s + j) * a
                        for k in 0..<a {
                            dv[k] += g * uj[k]
                            let dp = g * v[k] * (1 - uj[k] * uj[k])
                            dq[k] += dp
                            dk[k] += dp
                        }
                    }
                }
            }
            let w2 = queryWeight!
            // Q = d·W_2ᵀ: ∂W_2 (A, Hd) += ∂Qᵀ·d, ∂d += ∂Q·W_2.
            GEMM.multiply(transA: true, m: a, n: hd, k: rows, a: dQuery, lda: a, b: d, ldb: hd, beta: 1,
                          c: arena.gradient(w2), ldc: hd)
            if let dd {
                GEMM.multiply(m: rows, n: hd, k: a, a: dQuery, lda: a, b: arena.value(w2), ldb: hd, beta: 1, c: dd, ldc: hd)
            }
            keysBackward(encoder: e, rows: b * s, keysGradient: dKeys, weight: keyWeight!, encoderGradient: de, arena: arena)
        }
    }

    // MARK: Decoding

    /// Computes the keys K (B, S, Hk) of a source batch once, for the `step` calls that follow.
    /// - Parameter encoder: e (B, S, He).
    public func prepare(encoder e: UnsafePointer<Float>, batch b: Int, sourceSteps s: Int,
                        workspace ws: AttentionWorkspace, arena: ParameterArena) {
        guard let w = keyWeight else { return }   // dot: K = e, nothing to compute
        // K (B·S, Hk) = e (B·S, He)·Wᵀ: one GEMM over every source step of the batch.
        GEMM.multiply(transB: true, m: b * s, n: keySize, k: encoderSize, a: e, lda: encoderSize,
                      b: arena.value(w), ldb: encoderSize, beta: 0, c: ws.buffers(.keys, b * s * keySize), ldc: keySize)
    }

    /// One decoder step (T = 1) after `prepare` with the same encoder outputs: exactly the
    /// numbers `forward` gives at that step. It reuses the workspace's forward cache, so run
    /// `backward` only after a `forward`.
    /// - Parameters:
    ///   - decoder: d_t (B, Hd).
    ///   - encoder: e (B, S, He), as given to `prepare`.
    ///   - output: h̃_t (B, Hd), written.
    ///   - weights: α_t (B, S), written when given.
    public func step(decoder d: UnsafePointer<Float>, batch b: Int, encoder e: UnsafePointer<Float>, sourceSteps s: Int,
                     sourceLengths: UnsafePointer<Int32>?, output: UnsafeMutablePointer<Float>,
                     weights: UnsafeMutablePointer<Float>? = nil, workspace ws: AttentionWorkspace, arena: ParameterArena) {
        attend(decoder: d, batch: b, steps: 1, encoder: e, sourceSteps: s, sourceLengths: sourceLengths,
               output: output, weights: weights, workspace: ws, arena: arena)
    }

    // MARK: Shared

    @inline(__always)
    private func length(_ lengths: UnsafePointer<Int32>?, _ r: Int, _ s: Int) -> Int {
        lengths.map { Int($0[r]) } ?? s
    }

    /// Everything after the keys: scores, softmax, context, output.
    private func attend(decoder d: UnsafePointer<Float>, batch b: Int, steps t: Int,
                        encoder e: UnsafePointer<Float>, sourceSteps s: Int, sourceLengths: UnsafePointer<Int32>?,
                        output: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>?,
                        workspace ws: AttentionWorkspace, arena: ParameterArena) {
        ws.batch = b
        ws.steps = t
        ws.sourceSteps = s
        let (hd, he, hk) = (decoderSize, encoderSize, keySize)
        let hc = he + hd
        let rows = b * t
        let alpha = ws.buffers(.weights, rows * s)
        let keys = kind == .dot ? e : UnsafePointer(ws.buffers(.keys, b * s * hk))

        switch kind {
        case .dot, .general:
            for r in 0..<b {
                // score (T, len) = d (T, Hd)·K (len, Hk)ᵀ
                GEMM.multiply(transB: true, m: t, n: length(sourceLengths, r, s), k: hk, a: d + r * t * hd, lda: hd,
                              b: keys + r * s * hk, ldb: hk, beta: 0, c: alpha + r * t * s, ldc: s)
            }
        case .additive:
            let a = attentionSize
            let query = ws.buffers(.query, rows * a), u = ws.buffers(.hidden, rows * s * a)
            // Q (B·T, A) = d·W_2ᵀ: one GEMM over every decoder step.
            GEMM.multiply(transB: true, m: rows, n: a, k: hd, a: d, lda: hd, b: arena.value(queryWeight!), ldb: hd,
                          beta: 0, c: query, ldc: a)
            let v = arena.value(scoreVector!)
            for r in 0..<b {
                let n = length(sourceLengths, r, s)
                for i in 0..<t {
                    let row = r * t + i
                    let q = query + row * a
                    for j in 0..<n {
                        let k = keys + (r * s + j) * a, uj = u + (row * s + j) * a
                        var score: Float = 0
                        for c in 0..<a {
                            uj[c] = Foundation.tanh(k[c] + q[c])
                            score += v[c] * uj[c]
                        }
                        alpha[row * s + j] = score
                    }
                }
            }
        }

        let concat = ws.buffers(.concat, rows * hc)
        for r in 0..<b {
            let n = length(sourceLengths, r, s)
            for i in 0..<t {
                let row = alpha + (r * t + i) * s
                // Masked steps get exactly zero weight; an empty source gives α = 0, c = 0.
                if n > 0 { Softmax.row(row, count: n, into: row) }
                for j in n..<s { row[j] = 0 }
            }
            // c (T, He) = α (T, len)·e (len, He), written into the first He columns of [c; d].
            GEMM.multiply(m: t, n: he, k: n, a: alpha + r * t * s, lda: s, b: e + r * s * he, ldb: he,
                          beta: 0, c: concat + r * t * hc, ldc: hc)
        }
        Elementwise.copy(d, ldx: hd, to: concat + he, ldy: hc, rows: rows, cols: hd)
        let out = ws.buffers(.output, rows * hd)
        combine.forward(concat, rows: rows, output: out, arena: arena)
        for i in 0..<(rows * hd) { out[i] = Foundation.tanh(out[i]) }
        output.update(from: out, count: rows * hd)
        weights?.update(from: alpha, count: rows * s)
    }

    /// Backward of K = e·Wᵀ over `rows` = B·S source steps: ∂W += ∂Kᵀ·e, ∂e += ∂K·W.
    private func keysBackward(encoder e: UnsafePointer<Float>, rows: Int, keysGradient dk: UnsafePointer<Float>,
                              weight w: Parameter, encoderGradient de: UnsafeMutablePointer<Float>?,
                              arena: ParameterArena) {
        let (hk, he) = (keySize, encoderSize)
        GEMM.multiply(transA: true, m: hk, n: he, k: rows, a: dk, lda: hk, b: e, ldb: he, beta: 1,
                      c: arena.gradient(w), ldc: he)
        if let de {
            GEMM.multiply(m: rows, n: he, k: hk, a: dk, lda: hk, b: arena.value(w), ldb: he, beta: 1, c: de, ldc: he)
        }
    }
}

/// Buffers of an `Attention` layer's passes, grown on demand and reused: the keys, queries,
/// additive hidden values, weights α, [c; d], h̃, and their gradients.
public final class AttentionWorkspace: @unchecked Sendable {
    enum Slot: Int, CaseIterable {
        case keys, query, hidden, weights, concat, output
        case outputGradient, concatGradient, weightsGradient, keysGradient, queryGradient
    }
    let buffers = GrowingBuffers<Slot>()
    var batch = 0, steps = 0, sourceSteps = 0

    /// An empty workspace; buffers grow to the largest batch they meet.
    public init() {}
}

