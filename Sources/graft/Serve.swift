import ArgumentParser
import Foundation
import GraftRuntime
import GraftAdapters
import GraftEngine
import GraftModel
import GraftQuant
import GraftServe
import GraftTensor

/// `graft serve`: the OpenAI-compatible server (the work lives in GraftServe).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model and its adapters over an OpenAI-compatible HTTP API.",
        discussion: """
        Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET|POST /v1/adapters,
        DELETE /v1/adapters/REF, GET|PUT|DELETE /v1/adapters/NAME/rollout (+ /promote, /rollback),
        GET /metrics, /health, /ready, /openapi.json. The adapter is chosen by `model` (sql, sql@3,
        sql@prod) or by "adapters": [{"model": "sql@3", "scale": 0.7}, …]. SIGTERM drains.
        """)

    @Option(help: "Path to a .gguf model.") var model: String
    @Option(help: "An adapter to load and keep in memory at start (NAME[@VERSION|@TAG]); repeatable.") var adapter: [String] = []
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8000
    @Option(help: "Require 'Authorization: Bearer KEY' on /v1/ routes.") var apiKey: String?
    @Option(help: "Read the API key from a file (its first line).") var apiKeyFile: String?
    @Option(help: "Requests waiting for the engine at most; beyond it the answer is 429.") var maxQueue = 64
    @Option(help: "KV cache size: a number of MiB, or with a unit (512M, 2G).") var kvBudget = "512M"
    @Option(help: "Sequences in the running batch at most.") var maxBatch = 64
    @Option(help: "Tokens per engine step (decode rows and prompt chunks).") var tokenBudget = 128
    @Option(help: "The largest max_tokens a request may ask for (also the default cap).") var maxTokens = 4096
    @Option(help: "Bytes of adapter weights kept in memory (least recently used evicted), as with --kv-budget.") var adapterMemory = "512M"
    @Option(help: "Request bodies larger than this many bytes get 413.") var maxBody = 1 << 20
    @Option(help: "Seconds a drain (SIGTERM) waits for running requests.") var drainSeconds = 30.0
    @Option(help: "One JSON line per request to this file (rotated by size).") var auditLog: String?
    @Option(help: "Rotate the audit log at this size, as with --kv-budget.") var auditLogSize = "64M"
    @Flag(help: "Include prompt and completion text in the audit log.") var logPrompts = false
    @Option(help: "exact | fast (integer decode kernels)") var kernels: KernelMode = .fast
    @Option(help: "Threads the model's kernels use (default: one per core); for replicas sharing a machine.") var threads: Int?

    static func bytes(_ text: String, option: String) throws -> Int {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1)]
        var number = t, scale = 1 << 20
        for (suffix, s) in units where t.hasSuffix(suffix) {
            number = String(t.dropLast(suffix.count))
            scale = s
            break
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value > 0, value * Double(scale) < Double(1 << 50) else {
            throw ValidationError("\(option): '\(text)' is not a size (a number of MiB, or 512M, 2G)")
        }
        return Int(value * Double(scale))
    }

    func run() throws {
        var key = apiKey
        if let apiKeyFile {
            guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8),
                  let line = text.split(whereSeparator: \.isNewline).first, !line.isEmpty else {
                throw ValidationError("--api-key-file: cannot read a key from \(apiKeyFile)")
            }
            key = String(line).trimmingCharacters(in: .whitespaces)
        }
        guard (1...65535).contains(port) else { throw ValidationError("--port: must be in 1...65535") }
        guard maxQueue >= 0, maxBatch >= 1, tokenBudget >= 1, maxTokens >= 1, maxBody >= 1024, drainSeconds >= 0 else {
            throw ValidationError("--max-queue ≥ 0, --max-batch, --token-budget and --max-tokens ≥ 1, --max-body ≥ 1024, --drain-seconds ≥ 0")
        }
        if let threads {
            guard (1...1024).contains(threads) else { throw ValidationError("--threads: from 1 to 1024") }
            Parallelism.workers = threads
        }
        let lm = try LanguageModel(path: model)
        var options = Engine.Options()
        options.kernels = kernels
        options.kvBudgetBytes = try Self.bytes(kvBudget, option: "--kv-budget")
        options.maxBatch = maxBatch
        options.tokenBudget = tokenBudget
        let base = try BaseIdentity(language: lm, path: model)
        let cache = AdapterCache(registry: Registry(root: Registry.defaultRoot()), base: base,
                                 limitBytes: try Self.bytes(adapterMemory, option: "--adapter-memory"),
                                 precision: kernels == .exact ? .float32 : .bfloat16)
        let engine = try Engine(language: lm, options: options, adapters: cache)
        let baseID = ((model as NSString).lastPathComponent as NSString).deletingPathExtension
        let router = ModelRouter(baseID: baseID, cache: cache)
        for reference in adapter {
            do { try router.load(reference: reference, path: nil, name: nil) } catch { throw ValidationError("--adapter \(reference): \(error.message)") }
        }
        var serverOptions = GraftServer.Options()
        serverOptions.host = host
        serverOptions.port = port
        serverOptions.apiKey = key
        serverOptions.maxQueue = maxQueue
        serverOptions.maxBodyBytes = maxBody
        serverOptions.maxTokensLimit = min(maxTokens, lm.model.config.contextLength)
        serverOptions.drainSeconds = drainSeconds
        let audit = try auditLog.map { try AuditLog(path: $0, maxBytes: try Self.bytes(auditLogSize, option: "--audit-log-size"), logPrompts: logPrompts) }
        let server = GraftServer(engine: engine, router: router, options: serverOptions, audit: audit)
        let banner = "graft serve: \(baseID) (kv \(options.kvBudgetBytes >> 20) MiB, \(engine.kvBlocks.total) blocks) on http://\(host):"
        let failure: String? = waitFor {
            do {
                try await server.run { port in
                    FileHandle.standardError.write(Data("\(banner)\(port)\n".utf8))
                }
                return nil
            } catch {
                return "\(error)"
            }
        }
        if let failure { throw ValidationError("serve: \(failure)") }
    }
}
