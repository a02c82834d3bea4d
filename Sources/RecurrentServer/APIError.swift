#if Server
import Foundation
import Hummingbird
import Recurrent

/// An error answered as `{"error": {"field": F, "message": M}}` with its HTTP status: the
/// request's fault (4xx) or the server's state (429, 503).
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    /// The request field at fault (`length`, `prime`, …); nil when no single field is.
    let field: String?
    let message: String

    init(_ status: HTTPResponse.Status, field: String? = nil, _ message: String) {
        self.status = status
        self.field = field
        self.message = message
    }

    /// The answer to a library error: a value out of range is 422 naming its field (`field`
    /// when the error names none the request knows); a busy engine 429; a stopping one 503.
    init(_ error: RecurrentError, field: String? = nil) {
        switch error {
        case let .invalidArgument(name, _, _):
            self.init(.unprocessableContent, field: APIError.requestFields.contains(name) ? name : field, "\(error)")
        case let .unavailable(_, _, retryLater):
            self.init(retryLater ? .tooManyRequests : .serviceUnavailable, "\(error)")
        case .invalidFile, .shapeMismatch:
            self.init(.unprocessableContent, field: field, "\(error)")
        case .io, .divergence, .distributed:
            self.init(.internalServerError, "\(error)")
        }
    }

    /// Every field a request body may hold.
    static let requestFields: Set<String> = ["model", "prime", "length", "temperature", "top_k", "seed", "stream", "text",
                                             "examples", "beam"]

    /// The JSON body.
    var json: String {
        JSONText.object([("error", JSONText.object([("field", field.map(JSONText.string) ?? "null"),
                                                    ("message", JSONText.string(message))]))])
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response.json(json, status: status)
        if status == .tooManyRequests { response.headers[.retryAfter] = "1" }
        return response
    }
}

extension Response {
    /// A response whose body is `json` (already JSON text).
    static func json(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: json + "\n")))
    }
}
#endif
