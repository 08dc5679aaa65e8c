import Foundation
import GraftFormats

/// One JSON line per request: time, request id, the API key's id (never the key), model and
/// version, token counts, timings and status; the prompt and completion only when asked for.
/// The file rotates by size: at `maxBytes` it becomes `FILE.1` (`.1` becomes `.2`, …, the oldest
/// of `keep` dropped) and a new file starts. Lines are written whole under a lock, so concurrent
/// requests never interleave; a write that fails is reported once on stderr and does not fail
/// the request.
public final class AuditLog: @unchecked Sendable {
    public struct Entry: Encodable, Sendable {
        public var time: String
        public var requestID: String
        public var keyID: String?
        public var route: String
        public var model: String?
        public var version: String?
        public var status: Int
        public var promptTokens: Int?
        public var completionTokens: Int?
        public var queueSeconds: Double?
        public var prefillSeconds: Double?
        public var decodeSeconds: Double?
        public var totalSeconds: Double
        public var finishReason: String?
        public var error: String?
        public var prompt: String?
        public var completion: String?

        enum CodingKeys: String, CodingKey {
            case time, requestID = "request_id", keyID = "key_id", route, model, version, status
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
            case queueSeconds = "queue_seconds", prefillSeconds = "prefill_seconds", decodeSeconds = "decode_seconds"
            case totalSeconds = "total_seconds", finishReason = "finish_reason", error, prompt, completion
        }
    }

    public let path: String
    public let maxBytes: Int
    public let keep: Int
    public let logPrompts: Bool
    private let lock = NSLock()
    private var handle: FileHandle?
    private var size = 0
    private var reported = false
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    public init(path: String, maxBytes: Int = 64 << 20, keep: Int = 5, logPrompts: Bool = false) throws(FormatError) {
        self.path = path
        self.maxBytes = max(4096, maxBytes)
        self.keep = max(1, keep)
        self.logPrompts = logPrompts
        try open()
    }

    private func open() throws(FormatError) {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard fm.createFile(atPath: path, contents: nil) else {
                throw .invalid(path: path, field: nil, reason: "cannot create the audit log (does its folder exist and is it writable?)")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw .invalid(path: path, field: nil, reason: "cannot open the audit log for writing")
        }
        size = Int((try? h.seekToEnd()) ?? 0)
        handle = h
    }

    public func write(_ entry: Entry) {
        var entry = entry
        if !logPrompts { entry.prompt = nil; entry.completion = nil }
        guard var line = try? encoder.encode(entry) else { return }
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        do {
            if size + line.count > maxBytes && size > 0 { try rotate() }
            try handle?.write(contentsOf: line)
            size += line.count
        } catch {
            if !reported {
                reported = true
                FileHandle.standardError.write(Data("graft serve: audit log \(path): \(error)\n".utf8))
            }
        }
    }

    private func rotate() throws {
        try handle?.close()
        handle = nil
        let fm = FileManager.default
        try? fm.removeItem(atPath: "\(path).\(keep)")
        for i in stride(from: keep - 1, through: 1, by: -1) where fm.fileExists(atPath: "\(path).\(i)") {
            try fm.moveItem(atPath: "\(path).\(i)", toPath: "\(path).\(i + 1)")
        }
        try fm.moveItem(atPath: path, toPath: "\(path).1")
        try open()
    }

    /// An API key's id for the log: the first 12 hex digits of its SHA-256.
    public static func keyID(_ key: String) -> String {
        Data(key.utf8).withUnsafeBytes { String(ContentHash.sha256($0).prefix(12)) }
    }

    public static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
