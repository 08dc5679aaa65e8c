import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes that never leave a half-written file under the final name: data goes to a temporary
/// file beside it, is flushed to disk, and is renamed over the target in one step.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws(FormatError) {
        let temp = path + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot create \(temp): \(String(cString: strerror(errno)))") }
        var failure: String?
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { failure = String(cString: strerror(errno)); return }
                done += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if let failure {
            unlink(temp)
            throw .io(path: path, reason: "writing \(temp) failed: \(failure)")
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw .io(path: path, reason: "cannot rename \(temp) into place: \(reason)")
        }
    }
}
