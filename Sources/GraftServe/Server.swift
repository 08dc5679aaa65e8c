import Foundation
import GraftEngine
import GraftFormats
import GraftModel
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The OpenAI-compatible server over one engine: `/v1/chat/completions`, `/v1/completions`,
/// `/v1/models`, adapters loaded, unloaded and rolled out at run time, `/metrics`, `/health`,
/// `/ready` and `/openapi.json`.
///
/// Flow of a generation: the body is read up to a size limit and checked field by field
/// (`GenerationRequest`); the model id resolves to adapter versions (`ModelRouter`, pinned in
/// the cache until the request ends); the prompt is rendered and tokenized; a full queue answers
/// 429; the engine streams tokens, which pass through stop strings to the client as JSON or
/// server-sent events; a client that goes away cancels its generation (its KV blocks return at
/// the next step). Each request ends in the metrics and the audit log. SIGTERM (or SIGINT)
/// drains: `/ready` turns 503 and new generations are refused while running ones finish, up to
/// a deadline after which they are cancelled; then the server stops and `run` returns.
public final class GraftServer: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8000
        /// Requests must carry `Authorization: Bearer KEY` when set (on `/v1/…`).
        public var apiKey: String?
        /// Requests waiting for admission at most; past it the answer is 429.
        public var maxQueue = 64
        public var maxBodyBytes = 1 << 20
        /// The largest `max_tokens` a request may ask for (and the default cap).
        public var maxTokensLimit = 4096
        /// How long a drain waits for running requests before cancelling them.
        public var drainSeconds = 30.0
        public init() {}
    }

    public let engine: Engine
    public let router: ModelRouter
    public let metrics: ServerMetrics
    public let options: Options
    public let audit: AuditLog?
    let logger: Logger
    let draining = Atomic<Bool>(false)
    let nextRequest = Atomic<Int>(0)
    /// Generations in progress (engine ids, or -1 before submission), to drain and to cancel.
    let inFlight = Mutex<[Int: Int]>([:])

    public init(engine: Engine, router: ModelRouter, options: Options, audit: AuditLog? = nil, logger: Logger? = nil) {
        self.engine = engine
        self.router = router
        self.options = options
        self.audit = audit
        metrics = ServerMetrics(engine: engine, router: router)
        self.logger = logger ?? Logger(label: "graft.serve")
    }

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// The routes, behind the middleware that checks the API key and answers every error in
    /// OpenAI's shape.
    public func buildRouter() -> Router<BasicRequestContext> {
        let r = Router(context: BasicRequestContext.self)
        r.add(middleware: APIMiddleware(apiKey: options.apiKey))
        r.get("/health") { _, _ in Self.json(["status": "ok"]) }
        r.get("/ready") { _, _ -> Response in
            if self.isDraining { return Self.json(["status": "draining"], status: .serviceUnavailable) }
            return Self.json(["status": "ready"])
        }
        r.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.scrape())))
        }
        r.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        r.post("/v1/chat/completions") { request, _ in try await self.generate(.chat, request) }
        r.post("/v1/completions") { request, _ in try await self.generate(.completion, request) }
        r.get("/v1/models") { _, _ in self.models() }
        r.get("/v1/models/:model") { _, context in try self.model(context.parameters.get("model") ?? "") }
        r.get("/v1/adapters") { _, _ in self.adapters() }
        r.post("/v1/adapters") { request, _ in try await self.loadAdapter(request) }
        r.delete("/v1/adapters/:ref") { _, context in try self.unloadAdapter(context.parameters.get("ref") ?? "") }
        r.get("/v1/adapters/:name/rollout") { _, context in try self.getRollout(context.parameters.get("name") ?? "") }
        r.put("/v1/adapters/:name/rollout") { request, context in try await self.putRollout(context.parameters.get("name") ?? "", request) }
        r.delete("/v1/adapters/:name/rollout") { _, context in try self.deleteRollout(context.parameters.get("name") ?? "") }
        r.post("/v1/adapters/:name/rollout/promote") { request, context in
            try await self.settleRollout(context.parameters.get("name") ?? "", request, promote: true)
        }
        r.post("/v1/adapters/:name/rollout/rollback") { request, context in
            try await self.settleRollout(context.parameters.get("name") ?? "", request, promote: false)
        }
        return r
    }

    /// Serves until SIGTERM or SIGINT, then drains and returns.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let app = Application(router: buildRouter(),
                              configuration: .init(address: .hostname(options.host, port: options.port), serverName: "graft"),
                              onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: DrainService(server: self), successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        engine.stop()
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "application/json"
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A request body, up to the size limit (413 past it).
    func collect(_ body: RequestBody) async throws -> Data {
        var data = Data()
        for try await buffer in body {
            guard data.count + buffer.readableBytes <= options.maxBodyBytes else { throw APIError.tooLarge(limit: options.maxBodyBytes) }
            data.append(contentsOf: buffer.readableBytesView)
        }
        return data
    }
}

/// Waits for the shutdown signal, then drains: `/ready` turns false, new generations get 503,
/// running ones finish until the deadline, and those still running then are cancelled.
struct DrainService: Service {
    let server: GraftServer

    func run() async throws {
        try? await gracefulShutdown()
        server.draining.store(true, ordering: .relaxed)
        server.logger.info("draining: \(server.inFlight.withLock { $0.count }) requests in flight, \(server.options.drainSeconds) s to finish")
        let deadline = Date().addingTimeInterval(server.options.drainSeconds)
        while server.inFlight.withLock({ !$0.isEmpty }) && Date() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let left = server.inFlight.withLock { Array($0.values) }
        for id in left where id >= 0 { server.engine.cancel(id) }
        for _ in 0..<250 where server.inFlight.withLock({ !$0.isEmpty }) {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        server.logger.info("drained (\(left.count) requests cancelled at the deadline)")
    }
}

/// Checks the API key on `/v1/…` (compared in constant time, never logged) and turns every error
/// into OpenAI's error object: the router's own 404s and 405s, body limits, and anything
/// unexpected (500, with no detail that could leak).
struct APIMiddleware<Context: RequestContext>: RouterMiddleware {
    let keyDigest: [UInt8]?

    init(apiKey: String?) { keyDigest = apiKey.map { Self.digest($0) } }

    /// SHA-256 of a key (as hex bytes): digests of equal length compare in constant time
    /// whatever the key's length.
    static func digest(_ key: String) -> [UInt8] {
        Array(Data(key.utf8).withUnsafeBytes { ContentHash.sha256($0) }.utf8)
    }

    func authorized(_ request: Request) -> Bool {
        guard let keyDigest else { return true }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        let given = Self.digest(String(header.dropFirst(7)))
        guard given.count == keyDigest.count else { return false }
        var diff: UInt8 = 0
        for i in given.indices { diff |= given[i] ^ keyDigest[i] }
        return diff == 0
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix("/v1/") && !authorized(request) { return APIError.unauthorized.response() }
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as HTTPResponseError {
            switch error.status {
            case .notFound: return APIError(.notFound, "No route \(request.method) \(request.uri.path)", type: "invalid_request_error", code: "not_found").response()
            case .methodNotAllowed: return APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)", type: "invalid_request_error").response()
            case .contentTooLarge: return APIError(.contentTooLarge, "The request body is too large", type: "invalid_request_error", code: "request_too_large").response()
            case let status where status.code < 500:
                return APIError(status, "\(status.reasonPhrase)", type: "invalid_request_error").response()
            default:
                return APIError(.internalServerError, "The server failed to answer", type: "server_error").response()
            }
        } catch is CancellationError {
            return APIError(.init(code: 499, reasonPhrase: "Client Closed Request"), "The client went away", type: "server_error").response()
        } catch {
            context.logger.error("unexpected error: \(error)")
            return APIError(.internalServerError, "The server failed to answer", type: "server_error").response()
        }
    }
}
