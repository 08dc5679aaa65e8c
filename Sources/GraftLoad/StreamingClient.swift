import AsyncHTTPClient
import Foundation
import GraftFormats
import NIOCore
import NIOHTTP1

/// One request of a load test as the client saw it: when it started and ended, when each piece
/// of text arrived, the status, the token counts, and the server's own timings when it reports
/// them (`usage.timings`, graft's extension).
public struct RequestSample: Sendable {
    public var start: Double
    public var end: Double
    /// HTTP status; 0 when the request failed before an answer (refused, reset, timed out).
    public var status: Int
    public var error: String?
    public var ttft: Double?
    /// Seconds between consecutive pieces of text.
    public var gaps: [Double] = []
    public var completionTokens = 0
    public var promptTokens = 0
    public var queueSeconds: Double?
    public var prefillSeconds: Double?
    public var decodeSeconds: Double?
    public var model: String?

    public var ok: Bool { status == 200 && error == nil }
    public var latency: Double { end - start }
    /// Time per output token after the first.
    public var tpot: Double? {
        guard let ttft, completionTokens > 1 else { return nil }
        return (latency - ttft) / Double(completionTokens - 1)
    }
}

/// Streams chat completions from an OpenAI-compatible server and times them.
public struct StreamingClient: Sendable {
    public let http: HTTPClient
    public let base: URL
    public let apiKey: String?

    public init(base: URL, apiKey: String?, connections: Int) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, connections))
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(300))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.base = base
        self.apiKey = apiKey
    }

    public func shutdown() async { try? await http.shutdown() }

    func endpoint(_ path: String) -> String {
        var s = base.absoluteString
        while s.hasSuffix("/") { s.removeLast() }
        if s.hasSuffix("/v1") { s.removeLast(3) }
        return s + path
    }

    /// GET a path (`/metrics`, `/v1/models`) as text; nil when it fails.
    public func text(_ path: String, timeout: Double = 10) async -> String? {
        var request = HTTPClientRequest(url: endpoint(path))
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        guard let response = try? await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000))), response.status == .ok,
              let body = try? await response.body.collect(upTo: 64 << 20) else { return nil }
        return String(buffer: body)
    }

    /// The first model id the server lists (its base), for the `base` entry of a mix.
    public func firstModel() async -> String? {
        guard let text = await text("/v1/models"), case .object(let o)? = try? JSONValue.parse(Data(text.utf8), path: "/v1/models"),
              case .array(let data)? = o["data"], case .object(let first)? = data.first, case .string(let id)? = first["id"] else { return nil }
        return id
    }

    /// Sends one streamed chat completion; `clock` gives seconds on the level's clock.
    public func send(model: String, prompt: PromptSet.Prompt, maxTokens: Int, user: String?, seed: Int, deadline: Double,
                     clock: @Sendable () -> Double) async -> RequestSample {
        var sample = RequestSample(start: clock(), end: 0, status: 0)
        var body: [String: Any] = [
            "model": model, "stream": true, "stream_options": ["include_usage": true], "max_tokens": maxTokens,
            "temperature": 0.7, "seed": seed, "ignore_eos": true,
            "messages": prompt.messages.map { ["role": $0.role, "content": $0.content] },
        ]
        if let user { body["user"] = user }
        var request = HTTPClientRequest(url: endpoint("/v1/chat/completions"))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: body)) ?? Data()))
        let timeout = max(0.1, deadline - sample.start)
        do {
            // A pooled keep-alive connection the server closed meanwhile fails before the request
            // reaches it; that is the client's doing, so it is sent once more on a new connection.
            var attempt = 0
            var response: HTTPClientResponse?
            while response == nil {
                attempt += 1
                do {
                    response = try await http.execute(request, timeout: .milliseconds(Int64(max(0.1, deadline - clock()) * 1000)))
                } catch let error as HTTPClientError where error == .remoteConnectionClosed && attempt < 3 {
                    continue
                } catch let error as ChannelError where error == .ioOnClosedChannel && attempt < 3 {
                    continue
                }
            }
            guard let response else { throw HTTPClientError.remoteConnectionClosed }
            sample.status = Int(response.status.code)
            guard response.status == .ok else {
                // The error kind is the status and the server's message (OpenAI's error object).
                let body = try? await response.body.collect(upTo: 1 << 20)
                sample.end = clock()
                sample.error = "HTTP \(sample.status)"
                if let body, case .object(let o)? = try? JSONValue.parse(Data(String(buffer: body).utf8), path: "error"), case .object(let e)? = o["error"],
                   case .string(let message)? = e["message"] {
                    sample.error! += ": " + String(message.prefix(160))
                }
                return sample
            }
            var pending = ""
            var last: Double?
            var pieces = 0
            var done = false
            for try await buffer in response.body {
                let now = clock()
                pending += String(buffer: buffer)
                while let range = pending.range(of: "\n\n") {
                    let event = String(pending[..<range.lowerBound])
                    pending.removeSubrange(..<range.upperBound)
                    for line in event.split(separator: "\n") where line.hasPrefix("data:") {
                        let payload = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
                        if payload == "[DONE]" { done = true; continue }
                        guard case .object(let chunk)? = try? JSONValue.parse(Data(payload.utf8), path: "event") else { continue }
                        if case .string(let m)? = chunk["model"] { sample.model = m }
                        if case .array(let choices)? = chunk["choices"], case .object(let choice)? = choices.first,
                           case .object(let delta)? = choice["delta"], case .string(let text)? = delta["content"], !text.isEmpty {
                            if sample.ttft == nil { sample.ttft = now - sample.start }
                            if let last { sample.gaps.append(now - last) }
                            last = now
                            pieces += 1
                        }
                        if case .object(let usage)? = chunk["usage"] { read(usage, into: &sample) }
                    }
                }
            }
            if sample.completionTokens == 0 { sample.completionTokens = pieces }
            if !done { sample.error = "the stream ended without [DONE]" }
        } catch {
            sample.error = "\(error)"
        }
        sample.end = clock()
        return sample
    }

    func read(_ usage: [String: JSONValue], into sample: inout RequestSample) {
        if case .int(let n)? = usage["completion_tokens"] { sample.completionTokens = n }
        if case .int(let n)? = usage["prompt_tokens"] { sample.promptTokens = n }
        if case .object(let t)? = usage["timings"] {
            sample.queueSeconds = t["queue_seconds"]?.double
            sample.prefillSeconds = t["prefill_seconds"]?.double
            sample.decodeSeconds = t["decode_seconds"]?.double
        }
    }
}
