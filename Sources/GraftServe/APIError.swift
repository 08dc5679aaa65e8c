import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error answered in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with
/// its HTTP status (and `Retry-After` for 429 and 503). Every failure a client can cause ends
/// here, named by the request parameter at fault where there is one.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, type: String, param: String? = nil, code: String? = nil,
                retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// 400: a parameter is missing, of the wrong type or out of range.
    public static func invalid(_ param: String?, _ message: String, code: String? = nil) -> APIError {
        APIError(.badRequest, message, type: "invalid_request_error", param: param, code: code)
    }

    /// 404: the model (base or adapter) a request names is not served here.
    public static func modelNotFound(_ model: String, param: String = "model", reason: String? = nil) -> APIError {
        APIError(.notFound, "The model '\(model)' does not exist" + (reason.map { ": \($0)" } ?? ""),
                 type: "invalid_request_error", param: param, code: "model_not_found")
    }

    public static let unauthorized = APIError(.unauthorized, "Incorrect or missing API key: send it as 'Authorization: Bearer KEY'",
                                              type: "authentication_error", code: "invalid_api_key")

    public static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "The request body is larger than the limit of \(limit) bytes", type: "invalid_request_error",
                 code: "request_too_large")
    }

    public static func overloaded(queue: Int) -> APIError {
        APIError(.tooManyRequests, "The server is at capacity (\(queue) requests waiting); retry later", type: "rate_limit_error",
                 code: "rate_limit_exceeded", retryAfterSeconds: 1)
    }

    public static let draining = APIError(.serviceUnavailable, "The server is shutting down and takes no new requests",
                                          type: "server_error", code: "server_shutting_down", retryAfterSeconds: 1)

    /// The JSON body.
    public var body: Data {
        var error: [String: Any] = ["message": message, "type": type]
        error["param"] = param ?? NSNull()
        error["code"] = code ?? NSNull()
        return (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    public func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension APIError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response { response() }
}
