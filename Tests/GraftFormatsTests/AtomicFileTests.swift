import Foundation
import Testing
@testable import GraftFormats
import Synchronization

/// Atomic writes from many threads of one process to one path (as concurrent first requests for
/// an adapter version check out the same files): every write succeeds and the file is whole.
@Suite struct AtomicFileTests {
    @Test func concurrentWritersOfOnePathAllSucceedAndLeaveAWholeFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("adapter.safetensors").path
        let contents = (0..<8).map { i in Data(repeating: UInt8(i), count: 1 << 18) }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            do { try AtomicFile.write(contents[i % 8], to: path) } catch { failures.withLock { $0.append("\(error)") } }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.first ?? "" })")
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(contents.contains(written))
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["adapter.safetensors"])
    }
}
