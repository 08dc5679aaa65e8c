import Foundation
import GraftFormats
#if canImport(Glibc)
import Glibc
#endif

/// Files named by the SHA-256 of their bytes (`blobs/sha256/HEX`), as Ollama and OCI registries
/// keep layers: the same bytes are stored once, and a blob whose bytes no longer match its name is
/// detected on read. A blob is written to a temporary file of its own, flushed, and renamed into
/// place, so a killed writer never leaves a partial blob under a real name.
struct BlobStore {
    let root: String
    let temporary: String

    var folder: String { root + "/blobs/sha256" }

    func path(_ digest: String) -> String { folder + "/" + digest }

    /// Stores `data` and returns its SHA-256 (hex). Storing bytes that are there already is a no-op.
    func put(_ data: Data) throws(RegistryError) -> String {
        let digest = data.withUnsafeBytes { ContentHash.sha256($0) }
        let target = path(digest)
        if let existing = try? read(digest), existing.count == data.count { return digest }
        try makeFolder(folder)
        try makeFolder(temporary)
        let temp = temporary + "/blob-" + UUID().uuidString
        do { try data.write(to: URL(fileURLWithPath: temp)) } catch {
            throw .io(path: temp, reason: "cannot write: \(error.localizedDescription)")
        }
        try flush(temp)
        guard rename(temp, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw .io(path: target, reason: "cannot move the blob into place: \(reason)")
        }
        try? flush(folder)
        return digest
    }

    /// The blob's bytes, checked against its name.
    func read(_ digest: String) throws(RegistryError) -> Data {
        let file = path(digest)
        guard let data = FileManager.default.contents(atPath: file) else { throw .io(path: file, reason: "missing blob") }
        let found = data.withUnsafeBytes { ContentHash.sha256($0) }
        guard found == digest else { throw .corrupt(path: file, expected: digest, found: found) }
        return data
    }

    /// Every blob's digest.
    func all() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.count == 64 && !$0.hasPrefix(".") }
    }

    func remove(_ digest: String) { unlink(path(digest)) }
}

func makeFolder(_ path: String) throws(RegistryError) {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    catch { throw .io(path: path, reason: "cannot create the folder: \(error.localizedDescription)") }
}

/// fsync of a file or folder.
func flush(_ path: String) throws(RegistryError) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw .io(path: path, reason: "cannot open to flush: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw .io(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))") }
}
