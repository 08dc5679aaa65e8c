#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory mapping of a whole file. Weights stay in the page cache and are read in
/// place: a quantized model costs its file size in memory, shared with other processes.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws(FormatError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        isMapped = size > 0
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .io(path: path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    private let isMapped: Bool

    /// A copy of `data` in memory, read as if it were a file named `path` (fuzzing, tests).
    public init(copying data: [UInt8], path: String = "<memory>") {
        self.path = path
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: $0.count) } }
        bytes = UnsafeRawBufferPointer(start: p, count: data.count)
        isMapped = false
    }

    /// Reads `bytes` in place without owning them (the fuzzer mutates one buffer over and over).
    /// The caller keeps the memory alive and unchanged while this object is used.
    public init(borrowing bytes: UnsafeRawBufferPointer, path: String = "<memory>") {
        self.path = path
        self.bytes = bytes
        isMapped = false
        owns = false
    }

    private var owns = true

    deinit {
        guard owns else { return }
        guard let base = bytes.baseAddress else { return }
        if isMapped { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        else { UnsafeMutableRawPointer(mutating: base).deallocate() }
    }
}
