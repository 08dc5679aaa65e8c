import Foundation
import GraftRuntime
import GraftAdapters
import GraftLoad
import GraftModel

/// `graft serve` against llama.cpp's own `llama-server` under the same load (`graft loadtest`'s
/// engine), on the same model and prompts, in one run: with no adapter, with the SQL adapter on
/// both (llama.cpp gets it as a LoRA GGUF that graft exported), and graft alone with a mix of 8
/// adapters (ranks 8 and 16); the ratio at each level and the issue's targets. llama-server comes
/// from `Scripts/llama-server-env.sh` (`make peers`); `GRAFT_LLAMA_SERVER` names another.
/// Reports go to bench-results/loadtest/. `GRAFT_LOAD_LEVELS` overrides the concurrency levels
/// and `GRAFT_LOAD_WARMUP` the warm-up requests each server answers first (default: each prompt
/// once, so both servers have seen every prompt and a short level measures the steady state).
enum LoadBench {
    static let levels = ProcessInfo.processInfo.environment["GRAFT_LOAD_LEVELS"] ?? "1,2,4,8,16,32,64"
    static let warmup = ProcessInfo.processInfo.environment["GRAFT_LOAD_WARMUP"].flatMap { Int($0) } ?? PromptSet.builtIn.count

    struct Peer {
        let process: Process
        let url: URL
        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether the server on the loopback port answers `GET /health` with 200 (llama-server
    /// listens while it loads the model and answers 503 until it is ready).
    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        guard connected else { return false }
        let request = Array("GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard write(fd, request, request.count) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        return n > 12 && String(decoding: buffer[0..<n], as: UTF8.self).hasPrefix("HTTP/1.1 200") || String(decoding: buffer[0..<max(n, 0)], as: UTF8.self).hasPrefix("HTTP/1.0 200")
    }

    static func start(_ executable: String, _ arguments: [String], env: [String: String] = [:], log: String) throws -> Peer {
        let port = Int(arguments[arguments.firstIndex(of: "--port")! + 1])!
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        FileManager.default.createFile(atPath: log, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = p.standardOutput
        try p.run()
        let url = URL(string: "http://127.0.0.1:\(port)")!
        for _ in 0..<600 {
            if accepts(port) { return Peer(process: p, url: url) }
            guard p.isRunning else { break }
            usleep(100_000)
        }
        p.terminate()
        throw LoadPlan.ParseError(description: "\(executable) did not come up on port \(port); see \(log)")
    }

    static func run(duration: Double) throws {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let graft = here + "/graft"
        let model = ModelBench.modelPath
        let out = "bench-results/loadtest"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let home = NSTemporaryDirectory() + "graft-loadbench-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: home) }
        // The SQL adapter (PEFT's, from the fixtures) and 8 random ones of ranks 8 and 16.
        let env = ["GRAFT_HOME": home]
        func graftCommand(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: graft)
            p.arguments = args
            p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw LoadPlan.ParseError(description: "graft \(args.joined(separator: " ")) failed") }
        }
        try graftCommand(["import", "--format", "peft", "Tests/Fixtures/peft_import", "sql", "--model", model])
        let loraGGUF = home + "/sql-lora.gguf"
        try graftCommand(["export", "--format", "gguf", "sql", loraGGUF, "--model", model])
        let lm = try LanguageModel(path: model)
        let base = try BaseIdentity(language: lm, path: model)
        let registry = Registry(root: home)
        for i in 0..<8 { _ = try registry.publish(EngineBench.randomWeights(i, geometry: base.geometry), base: base, as: "mix\(i)") }
        let mix = (0..<8).map { "mix\($0)=1" }.joined(separator: ",")

        let llama = ProcessInfo.processInfo.environment["GRAFT_LLAMA_SERVER"] ?? ".venv-llama/bin/llama-server"
        let haveLlama = FileManager.default.isExecutableFile(atPath: llama)
        print("== load test: graft serve against llama.cpp's llama-server (\(haveLlama ? llama : "not set up: make peers")), SmolLM2 Q4_1, concurrency \(levels), \(Int(duration)) s a level after \(warmup) warm-up requests, 64 tokens a request (ignore_eos), 2 threads each ==")
        let slo = "ttft=1s,itl=250ms"
        func plan(_ url: URL, _ mix: String) throws -> LoadPlan {
            LoadPlan(url: url, levels: try LoadPlan.concurrencies(levels), duration: duration, prompts: PromptSet.builtIn, maxTokens: 64,
                     mix: try LoadPlan.mix(mix), slo: try LoadPlan.slo(slo), costPerHour: 0.10, apiKey: nil, grace: 60, warmup: warmup)
        }
        func measure(_ name: String, _ peer: Peer, _ mix: String) throws -> LoadReport {
            defer { peer.stop() }
            let p = try plan(peer.url, mix)
            return waitFor { await LoadTest.run(p, name: name, sloText: slo) { FileHandle.standardError.write(Data($0.utf8)) } }
        }
        func graftServer(_ tag: String) throws -> Peer {
            let port = freePort()
            return try start(graft, ["serve", "--model", model, "--port", String(port), "--max-batch", "64", "--kv-budget", "1G", "--max-queue", "1024"],
                             env: env, log: "\(out)/graft-\(tag).log")
        }
        func llamaServer(_ tag: String, lora: Bool) throws -> Peer {
            let port = freePort()
            var args = ["-m", model, "--port", String(port), "--parallel", "64", "-c", String(64 * 512), "--metrics", "-t", "2", "--threads-http", "72"]
            if lora { args += ["--lora", loraGGUF] }
            return try start(llama, args, log: "\(out)/llama-\(tag).log")
        }
        var sections: [(String, [LoadReport])] = []
        var graftBase = try measure("graft", try graftServer("base"), "base=1")
        var pair = [graftBase]
        if haveLlama { pair.append(try measure("llama.cpp", try llamaServer("base", lora: false), "base=1")) }
        sections.append(("no adapter", pair))
        let graftSQL = try measure("graft+sql", try graftServer("sql"), "sql=1")
        pair = [graftSQL]
        if haveLlama { pair.append(try measure("llama.cpp+sql", try llamaServer("sql", lora: true), "base=1")) }
        sections.append(("the SQL adapter", pair))
        let graftMix = try measure("graft+8 adapters", try graftServer("mix"), mix)
        sections.append(("a mix of 8 adapters (graft)", [graftMix]))
        graftBase.name = "graft"

        for (title, reports) in sections {
            print("\n-- \(title) --")
            let comparison = Comparison(reports)
            for r in reports {
                print(r.table)
                print(r.summary)
            }
            if reports.count > 1 {
                print(comparison.table)
                targets(reports[0], reports[1])
            }
            let dir = "\(out)/" + title.replacingOccurrences(of: " ", with: "-").replacingOccurrences(of: "(", with: "").replacingOccurrences(of: ")", with: "")
            let files = try ReportWriter.write(comparison, to: dir)
            print("reports: " + files.joined(separator: ", "))
        }
        print("\nknee with no adapter, one adapter, 8 adapters (graft): " + [graftBase, graftSQL, graftMix].map { r in
            r.knee.index.map { String(format: "%@ (%.0f tok/s, %@)", r.levels[$0].level, r.levels[$0].outputTokensPerSecond, r.knee.cause?.rawValue ?? "") } ?? "none"
        }.joined(separator: "; "))
    }

    /// The issue's targets: throughput at graft's knee ≥ 1.5× llama.cpp's at its knee, and p95
    /// TTFT below llama.cpp's at every level up to graft's knee.
    static func targets(_ graft: LoadReport, _ peer: LoadReport) {
        func atKnee(_ r: LoadReport) -> Double { r.levels[r.knee.index ?? (r.levels.count - 1)].outputTokensPerSecond }
        let ratio = atKnee(graft) / max(atKnee(peer), 1e-9)
        let upTo = graft.knee.index ?? (graft.levels.count - 1)
        let lower = (0...upTo).filter { $0 < peer.levels.count && graft.levels[$0].ttft.p95 < peer.levels[$0].ttft.p95 }.count
        print(String(format: "targets: throughput at the knee %.0f vs %.0f tok/s = %.2f× (≥ 1.5); p95 TTFT lower at %d of %d levels up to graft's knee (all)",
                     atKnee(graft), atKnee(peer), ratio, lower, upTo + 1))
    }
}
