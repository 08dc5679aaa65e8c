import Foundation
import GraftEngine
import GraftFormats
import GraftModel
import HTTPTypes
import Hummingbird
import NIOCore

/// `/v1/chat/completions` and `/v1/completions`: one request from body to answer.
extension GraftServer {
    /// A generation being prepared or running: what the answer names and what to release.
    final class Generation: @unchecked Sendable {
        let requestID: String
        let kind: GenerationRequest.Kind
        let arrived: DispatchTime
        var served = ""
        var metricModel = ""
        var metricVersion = ""
        var promptText: String?
        var text = ""
        var engineID: Int?
        var firstToken: Double?
        var usage: EngineUsage?
        var finish = "stop"
        private let lock = NSLock()
        private var cancelledEarly = false

        init(requestID: String, kind: GenerationRequest.Kind) {
            self.requestID = requestID
            self.kind = kind
            arrived = .now()
        }

        var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - arrived.uptimeNanoseconds) / 1e9 }

        /// Records the engine id; false when the client already went away (then cancel at once).
        func started(_ id: Int) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            engineID = id
            return !cancelledEarly
        }

        /// From here on the response body streams, and a client that goes away shows as a
        /// failed write (the inbound-close watch ends when the handler returns).
        func streams() {
            lock.lock()
            streaming = true
            lock.unlock()
        }
        private var streaming = false

        /// The client went away: the engine id to cancel, if the request has reached the engine.
        func clientGone() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard !streaming else { return nil }
            cancelledEarly = true
            return engineID
        }
    }

    func generate(_ kind: GenerationRequest.Kind, _ request: Request) async throws -> Response {
        guard !isDraining else { throw APIError.draining }
        let number = nextRequest.add(1, ordering: .relaxed).newValue
        let g = Generation(requestID: (kind == .chat ? "chatcmpl-" : "cmpl-") + String(format: "%08x%06x", UInt32.random(in: 0...UInt32.max), number & 0xFFFFFF),
                           kind: kind)
        inFlight.withLock { $0[number] = -1 }
        let route = kind == .chat ? "/v1/chat/completions" : "/v1/completions"
        var streaming = false
        defer { if !streaming { inFlight.withLock { _ = $0.removeValue(forKey: number) } } }
        // Watching for the client's hang-up consumes the connection: Hummingbird closes it after
        // this response, so every answer says `Connection: close` and clients open a new one
        // instead of reusing one that is about to close.
        var response = try await request.body.consumeWithInboundCloseHandler { body in
            do {
                let data = try await self.collect(body)
                let parsed = try GenerationRequest(kind, body: data, maxTokensLimit: self.options.maxTokensLimit)
                let (submitted, events) = try self.submit(parsed, g)
                self.inFlight.withLock { $0[number] = submitted }
                if parsed.stream {
                    streaming = true
                    g.streams()
                    return self.streamResponse(parsed, g, events, number: number, route: route)
                }
                return try await self.wholeResponse(parsed, g, events, route: route)
            } catch let error as APIError {
                self.finishRecord(g, route: route, status: Int(error.status.code), error: error.message)
                return error.response()
            }
        } onInboundClosed: { [engine] in
            if let id = g.clientGone() { engine.cancel(id) }
        }
        response.headers[.connection] = "close"
        return response
    }

    /// Resolves the model and adapters, renders and tokenizes the prompt, applies the queue
    /// bound and submits; the adapters stay pinned until the engine ends the request.
    func submit(_ r: GenerationRequest, _ g: Generation) throws(APIError) -> (Int, AsyncStream<EngineEvent>) {
        var selections: [ModelRouter.Selection] = []
        func releaseAll() { for s in selections { router.cache.release(s.acquired.adapter) } }
        do throws(APIError) {
            if r.adapters.isEmpty {
                selections = try router.resolve(r.model, user: r.user)
            } else {
                if r.model != router.baseID {
                    throw APIError.invalid("model", "with 'adapters', 'model' must be the base ('\(router.baseID)'), found '\(r.model)'")
                }
                for (i, a) in r.adapters.enumerated() {
                    selections += try router.resolve(a.model, scale: a.scale, user: r.user, param: "adapters[\(i)].model")
                }
            }
        } catch {
            releaseAll()
            throw error
        }
        let names = selections.map { $0.acquired.reference + ($0.scale == 1 ? "" : ":\($0.scale)") }
        g.served = names.isEmpty ? router.baseID : names.joined(separator: "+")
        g.metricModel = selections.isEmpty ? router.baseID : selections.map { $0.acquired.name ?? $0.acquired.reference }.joined(separator: "+")
        g.metricVersion = selections.isEmpty ? "" : selections.map { $0.acquired.version.map(String.init) ?? "" }.joined(separator: "+")
        let lm = engine.language
        let promptParam = r.kind == .chat ? "messages" : "prompt"
        let tokens: [Int32]
        switch r.prompt {
        case .messages(let messages):
            do {
                let text = try lm.chatPrompt(messages: messages)
                g.promptText = text
                tokens = lm.encodePrompt(text)
            } catch {
                releaseAll()
                throw APIError.invalid("messages", "\(error)")
            }
        case .text(let text):
            g.promptText = text
            tokens = lm.encodePrompt(text)
        case .tokens(let ids):
            tokens = ids
        }
        let context = lm.model.config.contextLength
        guard tokens.count < context else {
            releaseAll()
            throw APIError.invalid(promptParam, "The prompt is \(tokens.count) tokens, and the context is \(context): nothing is left to generate",
                                   code: "context_length_exceeded")
        }
        if let asked = r.maxTokens, tokens.count + asked > context {
            releaseAll()
            throw APIError.invalid("max_tokens", "The prompt (\(tokens.count) tokens) and max_tokens (\(asked)) exceed the context of \(context) tokens",
                                   code: "context_length_exceeded")
        }
        let maxTokens = r.maxTokens ?? min(options.maxTokensLimit, context - tokens.count)
        if engine.metrics.queueDepth.load(ordering: .relaxed) >= options.maxQueue {
            releaseAll()
            metrics.recordShed()
            throw APIError.overloaded(queue: options.maxQueue)
        }
        let request = EngineRequest(prompt: tokens, adapters: selections.map { ($0.acquired.adapter, $0.scale) }, sampling: r.sampling,
                                    maxTokens: maxTokens, stopTokens: r.ignoreEOS ? [] : nil)
        do {
            let (id, events) = try engine.submit(request)
            if !g.started(id) { engine.cancel(id) }
            return (id, events)
        } catch {
            throw Self.apiError(error, promptParam: promptParam)
        }
    }

    static func apiError(_ error: EngineError, promptParam: String) -> APIError {
        switch error {
        case .emptyPrompt: .invalid(promptParam, "\(error)")
        case .promptTooLong: .invalid(promptParam, "\(error)", code: "context_length_exceeded")
        case .maxTokens, .tooLargeForMemory: .invalid("max_tokens", "\(error)")
        case .tokenOutOfVocabulary: .invalid(promptParam, "\(error)")
        case .adapter: .invalid("model", "\(error)")
        case .stopped: .draining
        case .kvBudget: APIError(.internalServerError, "\(error)", type: "server_error")
        }
    }

    /// Runs the generation to its end through the stop strings; cancels the engine request when
    /// a stop string ends it early.
    func run(_ r: GenerationRequest, _ g: Generation, _ events: AsyncStream<EngineEvent>,
             emit: (String) async throws -> Void) async throws {
        var stops = StopStrings(r.stop)
        var ended = false
        for await event in events {
            switch event {
            case .token(_, let piece):
                if g.firstToken == nil { g.firstToken = g.elapsed }
                guard !ended else { continue }
                let out = stops.feed(piece)
                if !out.isEmpty {
                    g.text += out
                    try await emit(out)
                }
                if stops.stopped {
                    ended = true
                    if let id = g.engineID { engine.cancel(id) }
                }
            case let .finished(reason, usage):
                g.usage = usage
                let tail = stops.finish()
                if !tail.isEmpty {
                    g.text += tail
                    try await emit(tail)
                }
                switch reason {
                case .stop: g.finish = "stop"
                case .length: g.finish = "length"
                case .cancelled: g.finish = stops.stopped ? "stop" : "abort"
                }
            }
        }
    }

    func wholeResponse(_ r: GenerationRequest, _ g: Generation, _ events: AsyncStream<EngineEvent>, route: String) async throws -> Response {
        try await run(r, g, events) { _ in }
        if g.finish == "abort" && !isDraining {  // only a client that went away cancels outside a drain
            finishRecord(g, route: route, status: 499, error: "client closed the connection")
            throw CancellationError()
        }
        let created = Int(Date().timeIntervalSince1970)
        var body: [String: Any] = ["id": g.requestID, "created": created, "model": g.served, "usage": usageObject(g)]
        switch g.kind {
        case .chat:
            body["object"] = "chat.completion"
            body["choices"] = [["index": 0, "message": ["role": "assistant", "content": g.text], "logprobs": NSNull(), "finish_reason": g.finish]]
        case .completion:
            body["object"] = "text_completion"
            body["choices"] = [["index": 0, "text": g.text, "logprobs": NSNull(), "finish_reason": g.finish]]
        }
        finishRecord(g, route: route, status: 200)
        return Self.json(body, headers: timingHeaders(g))
    }

    func streamResponse(_ r: GenerationRequest, _ g: Generation, _ events: AsyncStream<EngineEvent>, number: Int, route: String) -> Response {
        let created = Int(Date().timeIntervalSince1970)
        let object = g.kind == .chat ? "chat.completion.chunk" : "text_completion"
        @Sendable func chunk(_ choice: [String: Any]?, usage: [String: Any]? = nil) -> ByteBuffer {
            var body: [String: Any] = ["id": g.requestID, "object": object, "created": created, "model": g.served,
                                       "choices": choice.map { [$0] } ?? []]
            if let usage { body["usage"] = usage } else if r.includeUsage { body["usage"] = NSNull() }
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            var buffer = ByteBuffer(string: "data: ")
            buffer.writeBytes(data)
            buffer.writeString("\n\n")
            return buffer
        }
        @Sendable func piece(_ text: String, finish: String?) -> [String: Any] {
            let reason: Any = finish ?? NSNull()
            switch g.kind {
            case .chat:
                return ["index": 0, "delta": finish == nil ? ["content": text] : [:], "logprobs": NSNull(), "finish_reason": reason]
            case .completion:
                return ["index": 0, "text": text, "logprobs": NSNull(), "finish_reason": reason]
            }
        }
        let body = ResponseBody { writer in
            defer { self.inFlight.withLock { _ = $0.removeValue(forKey: number) } }
            do {
                if g.kind == .chat {
                    try await writer.write(chunk(["index": 0, "delta": ["role": "assistant", "content": ""], "logprobs": NSNull(), "finish_reason": NSNull()]))
                }
                try await self.run(r, g, events) { text in try await writer.write(chunk(piece(text, finish: nil))) }
                try await writer.write(chunk(piece("", finish: g.finish)))
                if r.includeUsage { try await writer.write(chunk(nil, usage: self.usageObject(g))) }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
                self.finishRecord(g, route: route, status: 200)
            } catch {
                if let id = g.engineID { self.engine.cancel(id) }
                self.finishRecord(g, route: route, status: 499, error: "client closed the stream")
                throw error
            }
        }
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        headers[HTTPField.Name("X-Request-Id")!] = g.requestID
        return Response(status: .ok, headers: headers, body: body)
    }

    func usageObject(_ g: Generation) -> [String: Any] {
        let u = g.usage ?? EngineUsage()
        return ["prompt_tokens": u.promptTokens, "completion_tokens": u.completionTokens, "total_tokens": u.promptTokens + u.completionTokens,
                "timings": ["queue_seconds": u.queueSeconds, "prefill_seconds": u.prefillSeconds, "decode_seconds": u.decodeSeconds,
                            "time_to_first_token_seconds": g.firstToken ?? 0, "total_seconds": g.elapsed]]
    }

    /// `Server-Timing` (milliseconds), which browsers' and many clients' tooling read.
    func timingHeaders(_ g: Generation) -> HTTPFields {
        let u = g.usage ?? EngineUsage()
        var h = HTTPFields()
        h[HTTPField.Name("Server-Timing")!] = String(format: "queue;dur=%.3f, prefill;dur=%.3f, decode;dur=%.3f, total;dur=%.3f",
                                                     u.queueSeconds * 1000, u.prefillSeconds * 1000, u.decodeSeconds * 1000, g.elapsed * 1000)
        h[HTTPField.Name("X-Request-Id")!] = g.requestID
        return h
    }

    /// Metrics and the audit log for a request that has ended, however it ended.
    func finishRecord(_ g: Generation, route: String, status: Int, error: String? = nil) {
        let total = g.elapsed
        metrics.record(status: status, model: g.metricModel.isEmpty ? "unknown" : g.metricModel, version: g.metricVersion,
                       usage: status == 200 ? g.usage : nil, endToEnd: total, firstToken: g.firstToken)
        guard let audit else { return }
        let u = g.usage
        audit.write(AuditLog.Entry(time: AuditLog.timestamp(), requestID: g.requestID, keyID: options.apiKey.map(AuditLog.keyID), route: route,
                                   model: g.metricModel.isEmpty ? nil : g.metricModel, version: g.served.isEmpty ? nil : g.served,
                                   status: status, promptTokens: u?.promptTokens, completionTokens: u?.completionTokens,
                                   queueSeconds: u?.queueSeconds, prefillSeconds: u?.prefillSeconds, decodeSeconds: u?.decodeSeconds,
                                   totalSeconds: total, finishReason: u == nil ? nil : g.finish, error: error,
                                   prompt: g.promptText, completion: u == nil ? nil : g.text))
    }
}
