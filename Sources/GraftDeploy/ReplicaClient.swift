import AsyncHTTPClient
import Foundation
import GraftFormats
import NIOCore

/// The admin calls a rollout makes to one `graft serve` replica: its models, its adapters and
/// rollouts, and its `/metrics`.
public struct ReplicaClient: Sendable {
    public let url: URL
    let http: HTTPClient
    let apiKey: String?

    public init(url: URL, http: HTTPClient, apiKey: String?) {
        self.url = url
        self.http = http
        self.apiKey = apiKey
    }

    /// The HTTP methods the admin routes use.
    public enum Method: String, Sendable { case GET, POST, PUT, DELETE }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Status and body of one call; throws when the replica could not be reached.
    public func call(_ method: Method, _ path: String, json: [String: Any]? = nil, timeout: Double = 30) async throws -> (status: Int, body: String) {
        let base = url.absoluteString.hasSuffix("/") ? String(url.absoluteString.dropLast()) : url.absoluteString
        var request = HTTPClientRequest(url: base + path)
        switch method {
        case .GET: request.method = .GET
        case .POST: request.method = .POST
        case .PUT: request.method = .PUT
        case .DELETE: request.method = .DELETE
        }
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), String(buffer: body))
        } catch {
            throw Failure(description: "\(url.absoluteString) did not answer \(method.rawValue) \(path): \(error)")
        }
    }

    /// Like `call`, but a status other than 2xx is an error naming the replica and its message.
    @discardableResult
    public func expectOK(_ method: Method, _ path: String, json: [String: Any]? = nil) async throws -> JSONValue {
        let (status, body) = try await call(method, path, json: json)
        guard (200..<300).contains(status) else {
            var message = body
            let parsed = try? JSONValue.parse(Data(body.utf8), path: path)
            if case .object(let o)? = parsed, case .object(let e)? = o["error"], case .string(let m)? = e["message"] { message = m }
            throw Failure(description: "\(url.absoluteString) answered \(method.rawValue) \(path) with \(status): \(message)")
        }
        return (try? JSONValue.parse(Data(body.utf8), path: path)) ?? .null
    }

    /// The versions of `name` the replica can serve (from `/v1/models`: `name@N` ids).
    public func versions(of name: String) async throws -> [Int] {
        guard case .object(let o) = try await expectOK(.GET, "/v1/models"), case .array(let data)? = o["data"] else {
            throw Failure(description: "\(url.absoluteString)/v1/models is not a model list")
        }
        return data.compactMap { item -> Int? in
            guard case .object(let m) = item, case .string(let id)? = m["id"], id.hasPrefix(name + "@") else { return nil }
            return Int(id.dropFirst(name.count + 1))
        }.sorted()
    }

    /// The rollout of `name` as version → weight, or nil when none is set.
    public func rollout(of name: String) async throws -> [Int: Double]? {
        let (status, body) = try await call(.GET, "/v1/adapters/\(name)/rollout")
        if status == 404 { return nil }
        guard status == 200, case .object(let o)? = try? JSONValue.parse(Data(body.utf8), path: "rollout"),
              case .object(let versions)? = o["versions"] else {
            throw Failure(description: "\(url.absoluteString) answered GET /v1/adapters/\(name)/rollout with \(status): \(body)")
        }
        var weights: [Int: Double] = [:]
        for (k, v) in versions {
            if let version = Int(k), case .number(let w) = v { weights[version] = w }
        }
        return weights
    }

    public func metrics() async throws -> ReplicaMetrics {
        let (status, body) = try await call(.GET, "/metrics", timeout: 5)
        guard status == 200 else { throw Failure(description: "\(url.absoluteString)/metrics answered \(status)") }
        return ReplicaMetrics(body)
    }
}
