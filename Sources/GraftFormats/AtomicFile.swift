import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes that never leave a half-written file under the final name: data goes to a temporary
/// file beside it, is flushed to disk, and is renamed over the target in one step.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws(FormatError) {
        try replace(path) { (temp) throws(FormatError) in
            let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw .io(path: path, reason: "cannot create \(temp): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var failure: String?
            data.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n <= 0 { failure = String(cString: strerror(errno)); return }
                    done += n
                }
            }
            if let failure { throw .io(path: path, reason: "writing \(temp) failed: \(failure)") }
        }
    }

    /// Writes `path` through `body`, which fills a temporary file beside it (named
    /// `.NAME.tmp-PID-N`, N counting this process's writes, so two threads writing the same file
    /// never share one); the file is then flushed to disk and renamed over `path`, and the folder
    /// flushed too. A crash at any moment leaves the old file or the new one, never a mix; a
    /// failure removes the temporary file. Concurrent writers of one path each rename a whole
    /// file: the last one stays.
    public static func replace(_ path: String, _ body: (String) throws(FormatError) -> Void) throws(FormatError) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let n = writes.add(1, ordering: .relaxed).oldValue
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(n)").path
        do throws(FormatError) {
            try body(temp)
            try sync(temp)
            guard rename(temp, path) == 0 else {
                throw .io(path: path, reason: "cannot rename \(temp) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temp)
            throw error
        }
        try? sync(folder)
    }

    private static let writes = Atomic<Int>(0)

    /// fsync of a file or folder.
    static func sync(_ path: String) throws(FormatError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open to sync: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))") }
    }
}
