import Foundation
import Recurrent

// The ONNX messages the exporter needs (onnx.proto, proto2), each written with its fields in
// field-number order and repeated scalars unpacked, as protobuf's own serialisers write them:
// the same model always gives the same bytes.

/// ONNX element types (`TensorProto.DataType`) that the exporter writes.
package enum ONNXElementType: Int64, Sendable {
    case float = 1
    case int64 = 7
}

/// A constant tensor (`TensorProto`): dims, data type, name, and the values as `raw_data`
/// (fixed-width, little-endian), row-major.
package struct ONNXTensor: Sendable, Equatable {
    public let name: String
    public let dims: [Int]
    public let elementType: ONNXElementType
    public let rawData: [UInt8]

    /// A float tensor; `values.count` must be the product of `dims`.
    public init(name: String, dims: [Int], floats values: [Float]) {
        precondition(values.count == dims.reduce(1, *), "tensor '\(name)': \(values.count) values for dims \(dims)")
        self.name = name
        self.dims = dims
        elementType = .float
        var raw: [UInt8] = []
        raw.reserveCapacity(4 * values.count)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        rawData = raw
    }

    /// An int64 tensor; `values.count` must be the product of `dims`.
    public init(name: String, dims: [Int], int64s values: [Int64]) {
        precondition(values.count == dims.reduce(1, *), "tensor '\(name)': \(values.count) values for dims \(dims)")
        self.name = name
        self.dims = dims
        elementType = .int64
        var raw: [UInt8] = []
        raw.reserveCapacity(8 * values.count)
        for v in values { withUnsafeBytes(of: v.littleEndian) { raw.append(contentsOf: $0) } }
        rawData = raw
    }

    /// TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9.
    func encode(into w: inout ProtobufWriter) {
        for d in dims { w.int64(1, Int64(d)) }
        w.int64(2, elementType.rawValue)
        w.string(8, name)
        w.bytes(9, rawData)
    }
}

/// One dimension of a graph input or output: a fixed size or a symbolic name ("batch").
package enum ONNXDimension: Sendable, Equatable {
    case value(Int)
    case param(String)
}

/// A graph input or output (`ValueInfoProto`): a name and a tensor type with its shape.
package struct ONNXValueInfo: Sendable, Equatable {
    public let name: String
    public let elementType: ONNXElementType
    public let shape: [ONNXDimension]

    public init(name: String, elementType: ONNXElementType, shape: [ONNXDimension]) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }

    /// ValueInfoProto: name = 1, type = 2 → TypeProto.tensor_type = 1 → elem_type = 1,
    /// shape = 2 → TensorShapeProto.dim = 1 → dim_value = 1 | dim_param = 2.
    func encode(into w: inout ProtobufWriter) {
        w.string(1, name)
        w.message(2) { type in
            type.message(1) { tensor in
                tensor.int64(1, elementType.rawValue)
                tensor.message(2) { shape in
                    for d in self.shape {
                        shape.message(1) { dim in
                            switch d {
                            case let .value(n): dim.int64(1, Int64(n))
                            case let .param(s): dim.string(2, s)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A node attribute (`AttributeProto`).
package struct ONNXAttribute: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(Int64)
        case float(Float)
        case string(String)
        case ints([Int64])
        case strings([String])
    }

    public let name: String
    public let value: Value

    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    /// AttributeProto: name = 1, f = 2, i = 3, s = 4, ints = 8, strings = 9, type = 20
    /// (AttributeType FLOAT 1, INT 2, STRING 3, INTS 7, STRINGS 8).
    func encode(into w: inout ProtobufWriter) {
        w.string(1, name)
        let type: UInt64
        switch value {
        case let .float(f):
            w.float(2, f)
            type = 1
        case let .int(i):
            w.int64(3, i)
            type = 2
        case let .string(s):
            w.string(4, s)
            type = 3
        case let .ints(list):
            for i in list { w.int64(8, i) }
            type = 7
        case let .strings(list):
            for s in list { w.string(9, s) }
            type = 8
        }
        w.varint(20, type)
    }
}

/// One operator application (`NodeProto`) in the default (ai.onnx) domain. An empty input
/// name leaves an optional input out.
package struct ONNXNode: Sendable, Equatable {
    public let opType: String
    public let name: String
    public let inputs: [String]
    public let outputs: [String]
    public let attributes: [ONNXAttribute]

    public init(_ opType: String, name: String, inputs: [String], outputs: [String], attributes: [ONNXAttribute] = []) {
        self.opType = opType
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    /// NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5.
    func encode(into w: inout ProtobufWriter) {
        for i in inputs { w.string(1, i) }
        for o in outputs { w.string(2, o) }
        w.string(3, name)
        w.string(4, opType)
        for a in attributes { w.message(5) { a.encode(into: &$0) } }
    }
}

/// A computation graph (`GraphProto`): nodes in topological order, constant initializers,
/// and the typed inputs and outputs.
package struct ONNXGraph: Sendable, Equatable {
    public let name: String
    public let nodes: [ONNXNode]
    public let initializers: [ONNXTensor]
    public let inputs: [ONNXValueInfo]
    public let outputs: [ONNXValueInfo]

    public init(name: String, nodes: [ONNXNode], initializers: [ONNXTensor], inputs: [ONNXValueInfo], outputs: [ONNXValueInfo]) {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
    }

    /// GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
    func encode(into w: inout ProtobufWriter) {
        for n in nodes { w.message(1) { n.encode(into: &$0) } }
        w.string(2, name)
        for t in initializers { w.message(5) { t.encode(into: &$0) } }
        for i in inputs { w.message(11) { i.encode(into: &$0) } }
        for o in outputs { w.message(12) { o.encode(into: &$0) } }
    }
}

/// A whole ONNX file (`ModelProto`) importing one opset of the default domain.
package struct ONNXModel: Sendable, Equatable {
    public let irVersion: Int
    public let opsetVersion: Int
    public let producerName: String
    public let graph: ONNXGraph
    /// `metadata_props`, in this order.
    public let metadata: [(key: String, value: String)]

    public init(irVersion: Int, opsetVersion: Int, producerName: String, graph: ONNXGraph,
                metadata: [(key: String, value: String)] = []) {
        self.irVersion = irVersion
        self.opsetVersion = opsetVersion
        self.producerName = producerName
        self.graph = graph
        self.metadata = metadata
    }

    public static func == (a: ONNXModel, b: ONNXModel) -> Bool {
        a.irVersion == b.irVersion && a.opsetVersion == b.opsetVersion && a.producerName == b.producerName
            && a.graph == b.graph && a.metadata.elementsEqual(b.metadata) { $0 == $1 }
    }

    /// The serialised file. ModelProto: ir_version = 1, producer_name = 2, graph = 7,
    /// opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2), metadata_props = 14
    /// (StringStringEntryProto: key = 1, value = 2).
    public func serialized() -> Data {
        var w = ProtobufWriter()
        w.int64(1, Int64(irVersion))
        w.string(2, producerName)
        w.message(7) { graph.encode(into: &$0) }
        // The empty domain is ai.onnx; written explicitly, as onnx.helper does.
        w.message(8) { opset in
            opset.string(1, "")
            opset.int64(2, Int64(opsetVersion))
        }
        for (key, value) in metadata {
            w.message(14) { entry in
                entry.string(1, key)
                entry.string(2, value)
            }
        }
        return Data(w.encoded)
    }
}
