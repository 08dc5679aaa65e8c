import Foundation
import GraftEngine
@testable import GraftServe
import Testing

/// The parts of the server that need no socket: reading request bodies field by field, rollout
/// placement, and stop strings over streamed pieces. The HTTP behaviour is checked by
/// `Scripts/test_server.py` with the official openai client and curl (`make test-server`).
@Suite struct ServeLogicTests {
    func parse(_ json: String, _ kind: GenerationRequest.Kind = .chat) throws(APIError) -> GenerationRequest {
        try GenerationRequest(kind, body: Data(json.utf8), maxTokensLimit: 100)
    }

    func param(_ json: String, _ kind: GenerationRequest.Kind = .chat) -> String? {
        do { _ = try parse(json, kind); return "accepted" } catch { return error.param ?? "nil" }
    }

    @Test func requestsAreReadWithTheirDefaults() throws {
        let r = try parse(#"{"model": "sql@3", "messages": [{"role": "user", "content": "hi"}], "stop": "\n", "stream": true, "stream_options": {"include_usage": true}, "seed": -5, "user": "u1"}"#)
        #expect(r.model == "sql@3" && r.stop == ["\n"] && r.stream && r.includeUsage && r.user == "u1")
        #expect(r.sampling.temperature == 1 && r.sampling.topP == 1 && r.sampling.topK == 0 && r.sampling.minP == 0)
        #expect(r.sampling.seed == UInt64(bitPattern: -5) && r.maxTokens == nil)
        let c = try parse(#"{"model": "m", "prompt": [1, 2, 3], "max_tokens": 7, "adapters": [{"model": "a@1", "scale": 0.5}, {"model": "b"}]}"#, .completion)
        guard case .tokens(let ids) = c.prompt else { Issue.record("not tokens"); return }
        #expect(ids == [1, 2, 3] && c.maxTokens == 7 && c.adapters.map(\.model) == ["a", "b"].map { $0 == "a" ? "a@1" : $0 } && c.adapters[0].scale == 0.5)
    }

    @Test func badFieldsAreNamed() {
        #expect(param("{") == "nil")
        #expect(param("[]") == "nil")
        #expect(param(#"{"messages": []}"#) == "model")
        #expect(param(#"{"model": 1, "messages": []}"#) == "model")
        #expect(param(#"{"model": "m", "messages": []}"#) == "messages")
        #expect(param(#"{"model": "m", "messages": [{"role": "king", "content": "x"}]}"#) == "messages[0].role")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": 5}]}"#) == "messages[0].content")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 101}"#) == "max_tokens")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5}"#) == "max_tokens")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 2.5}"#) == "temperature")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": 0}"#) == "top_p")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": [1]}"#) == "stop")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}"#) == "n")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "adapters": [{"scale": 1}]}"#) == "adapters[0].model")
        #expect(param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": 3}"#) == "stream_options")
        #expect(param(#"{"model": "m", "prompt": {"a": 1}}"#, .completion) == "prompt")
        #expect(param(#"{"model": "m", "prompt": [1, 99999999999]}"#, .completion) == "prompt")
        #expect(param(#"{"model": "m", "prompt": "x", "frequency_penalty": 0.5}"#, .completion) == "frequency_penalty")
        #expect(param(#"{"model": "m", "prompt": "x", "frequency_penalty": 0}"#, .completion) == "accepted")
    }

    @Test func rolloutSplitsByWeightAndKeepsUsers() throws {
        let r = try Rollout(weights: [3: 90, 4: 10])
        var canary = 0
        for u in 0..<4000 where r.version(name: "sql", user: "user-\(u)") == 4 { canary += 1 }
        #expect((300...500).contains(canary), "\(canary) of 4000 users on the canary")
        // Raising the canary's weight moves only users onto it.
        let wider = try Rollout(weights: [3: 50, 4: 50])
        for u in 0..<2000 where r.version(name: "sql", user: "user-\(u)") == 4 {
            #expect(wider.version(name: "sql", user: "user-\(u)") == 4)
        }
        for u in 0..<50 { #expect(r.version(name: "sql", user: "u\(u)") == r.version(name: "sql", user: "u\(u)")) }
        let promoted = r.settled(on: 4)
        #expect(promoted.version(name: "x", user: nil) == 4 && promoted.members == [3, 4] && promoted.settled(on: 3).version(name: "x", user: "u") == 3)
        #expect(throws: APIError.self) { try Rollout(weights: [:]) }
        #expect(throws: APIError.self) { try Rollout(weights: [3: 0]) }
        #expect(throws: APIError.self) { try Rollout(weights: [0: 1]) }
        #expect(throws: APIError.self) { try Rollout(weights: [2: -1, 3: 1]) }
    }

    @Test func stopStringsHoldBackOnlyWhatCouldStartOne() {
        var s = StopStrings(["</s>", "STOP"])
        #expect(s.feed("Hello <") == "Hello ")
        #expect(s.feed("b>") == "<b>")
        #expect(s.feed(" ST") == " ")
        #expect(s.feed("OP and more") == "")
        #expect(s.stopped && s.feed("x") == "" && s.finish() == "")
        var t = StopStrings(["ab"])
        #expect(t.feed("xa") == "x")
        #expect(t.finish() == "a")
        var none = StopStrings([])
        #expect(none.feed("abc") == "abc" && !none.stopped)
        var split = StopStrings(["\n\n"])
        #expect(split.feed("one\n") == "one" && split.feed("\ntwo") == "" && split.stopped)
    }
}
