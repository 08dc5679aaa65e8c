@preconcurrency import CHDF5
import Foundation

/// A small HDF5 (libhdf5) file of named arrays and string attributes, in the shapes training
/// checkpoints need: Float32 tensors, 64-bit integer vectors, and text. Names may contain `/`
/// (groups are created on the way). The files are ordinary HDF5: `h5py` and `h5dump` read them.
public final class HDF5File {
    public let path: String
    private var file: hid_t

    /// The ids of HDF5's predefined types (macros in C, globals after `H5open`).
    private static let types: (float: hid_t, uint64: hid_t, int64: hid_t, string: hid_t) = {
        H5open()
        H5Eset_auto2(0, nil, nil)   // errors come back as return codes, not printed to stderr
        return (H5T_NATIVE_FLOAT_g, H5T_NATIVE_UINT64_g, H5T_NATIVE_INT64_g, H5T_C_S1_g)
    }()

    private init(path: String, file: hid_t) {
        self.path = path
        self.file = file
    }

    /// A new file at `path` (replacing one there).
    public static func create(_ path: String) throws(FormatError) -> HDF5File {
        _ = types
        let f = H5Fcreate(path, 0x0002 /* H5F_ACC_TRUNC */, 0, 0)
        guard f >= 0 else { throw .io(path: path, reason: "HDF5 cannot create the file") }
        return HDF5File(path: path, file: f)
    }

    /// An existing file, read-only.
    public static func open(_ path: String) throws(FormatError) -> HDF5File {
        _ = types
        guard FileManager.default.fileExists(atPath: path) else { throw .io(path: path, reason: "no such file") }
        guard H5Fis_hdf5(path) > 0 else { throw .invalid(path: path, field: "file", reason: "not an HDF5 file") }
        let f = H5Fopen(path, 0x0000 /* H5F_ACC_RDONLY */, 0)
        guard f >= 0 else { throw .io(path: path, reason: "HDF5 cannot open the file") }
        return HDF5File(path: path, file: f)
    }

    deinit { if file >= 0 { H5Fclose(file) } }

    /// Flushes and closes the file; later calls fail.
    public func close() throws(FormatError) {
        guard file >= 0 else { return }
        let status = H5Fclose(file)
        file = -1
        guard status >= 0 else { throw .io(path: path, reason: "HDF5 could not close (flush) the file") }
    }

    // MARK: writing

    public func write(_ name: String, floats: [Float], shape: [Int]) throws(FormatError) {
        precondition(shape.reduce(1, *) == floats.count, "\(name): \(floats.count) values for shape \(shape)")
        try floats.withUnsafeBytes { raw in Result { () throws(FormatError) in try write(name, type: Self.types.float, shape: shape, bytes: raw) } }.get()
    }

    public func write(_ name: String, uint64s: [UInt64]) throws(FormatError) {
        try uint64s.withUnsafeBytes { raw in Result { () throws(FormatError) in try write(name, type: Self.types.uint64, shape: [uint64s.count], bytes: raw) } }.get()
    }

    public func write(_ name: String, int64s: [Int64]) throws(FormatError) {
        try int64s.withUnsafeBytes { raw in Result { () throws(FormatError) in try write(name, type: Self.types.int64, shape: [int64s.count], bytes: raw) } }.get()
    }

    /// A text attribute on the root group (fixed-length, UTF-8).
    public func setAttribute(_ name: String, _ value: String) throws(FormatError) {
        let bytes = Array(value.utf8)
        let type = H5Tcopy(Self.types.string)
        defer { H5Tclose(type) }
        H5Tset_size(type, max(bytes.count, 1))
        H5Tset_cset(type, H5T_CSET_UTF8)
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let attr = H5Acreate2(file, name, type, space, 0, 0)
        guard attr >= 0 else { throw .io(path: path, reason: "HDF5 cannot create attribute '\(name)'") }
        defer { H5Aclose(attr) }
        let padded = bytes.isEmpty ? [UInt8(0)] : bytes
        guard H5Awrite(attr, type, padded) >= 0 else { throw .io(path: path, reason: "HDF5 cannot write attribute '\(name)'") }
    }

    private func write(_ name: String, type: hid_t, shape: [Int], bytes: UnsafeRawBufferPointer) throws(FormatError) {
        try makeGroups(for: name)
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        guard space >= 0 else { throw .io(path: path, reason: "HDF5 cannot make a dataspace for '\(name)'") }
        defer { H5Sclose(space) }
        let set = H5Dcreate2(file, name, type, space, 0, 0, 0)
        guard set >= 0 else { throw .io(path: path, reason: "HDF5 cannot create dataset '\(name)'") }
        defer { H5Dclose(set) }
        if bytes.count > 0 {
            guard H5Dwrite(set, type, 0, 0, 0, bytes.baseAddress) >= 0 else {
                throw .io(path: path, reason: "HDF5 cannot write dataset '\(name)'")
            }
        }
    }

    private func makeGroups(for name: String) throws(FormatError) {
        let parts = name.split(separator: "/").dropLast()
        var prefix = ""
        for part in parts {
            prefix += "/" + part
            if H5Lexists(file, prefix, 0) > 0 { continue }
            let g = H5Gcreate2(file, prefix, 0, 0, 0)
            guard g >= 0 else { throw .io(path: path, reason: "HDF5 cannot create group '\(prefix)'") }
            H5Gclose(g)
        }
    }

    // MARK: reading

    public func exists(_ name: String) -> Bool {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(file, prefix, 0) <= 0 { return false }
        }
        return true
    }

    /// The shape of dataset `name`.
    public func shape(_ name: String) throws(FormatError) -> [Int] {
        let set = try openDataset(name)
        defer { H5Dclose(set) }
        return try shape(of: set, name)
    }

    public func floats(_ name: String) throws(FormatError) -> (values: [Float], shape: [Int]) {
        let set = try openDataset(name)
        defer { H5Dclose(set) }
        let shape = try shape(of: set, name)
        try expectClass(set, H5T_FLOAT, size: 4, name, "Float32")
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        let status = out.withUnsafeMutableBytes { H5Dread(set, Self.types.float, 0, 0, 0, $0.baseAddress) }
        guard status >= 0 else { throw .io(path: path, reason: "HDF5 cannot read dataset '\(name)'") }
        return (out, shape)
    }

    public func uint64s(_ name: String) throws(FormatError) -> [UInt64] {
        try integers(name, memoryType: Self.types.uint64, as: UInt64.self)
    }

    public func int64s(_ name: String) throws(FormatError) -> [Int64] {
        try integers(name, memoryType: Self.types.int64, as: Int64.self)
    }

    private func integers<T: FixedWidthInteger>(_ name: String, memoryType: hid_t, as _: T.Type) throws(FormatError) -> [T] {
        let set = try openDataset(name)
        defer { H5Dclose(set) }
        let shape = try shape(of: set, name)
        try expectClass(set, H5T_INTEGER, size: 8, name, "64-bit integers")
        var out = [T](repeating: 0, count: shape.reduce(1, *))
        let status = out.withUnsafeMutableBytes { H5Dread(set, memoryType, 0, 0, 0, $0.baseAddress) }
        guard status >= 0 else { throw .io(path: path, reason: "HDF5 cannot read dataset '\(name)'") }
        return out
    }

    public func attribute(_ name: String) throws(FormatError) -> String {
        guard H5Aexists(file, name) > 0 else { throw .missing(path: path, name: "attribute '\(name)'") }
        let attr = H5Aopen(file, name, 0)
        guard attr >= 0 else { throw .io(path: path, reason: "HDF5 cannot open attribute '\(name)'") }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr)
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING, H5Tis_variable_str(type) == 0 else {
            throw .invalid(path: path, field: name, reason: "attribute is not a fixed-length string")
        }
        let size = H5Tget_size(type)
        var bytes = [UInt8](repeating: 0, count: size)
        guard H5Aread(attr, type, &bytes) >= 0 else { throw .io(path: path, reason: "HDF5 cannot read attribute '\(name)'") }
        if let end = bytes.firstIndex(of: 0) { bytes.removeSubrange(end...) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func openDataset(_ name: String) throws(FormatError) -> hid_t {
        guard exists(name) else { throw .missing(path: path, name: name) }
        let set = H5Dopen2(file, name, 0)
        guard set >= 0 else { throw .invalid(path: path, field: name, reason: "not a dataset") }
        return set
    }

    private func shape(of set: hid_t, _ name: String) throws(FormatError) -> [Int] {
        let space = H5Dget_space(set)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw .invalid(path: path, field: name, reason: "unreadable dataspace") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return rank == 0 ? [] : dims.prefix(rank).map { Int($0) }
    }

    private func expectClass(_ set: hid_t, _ cls: H5T_class_t, size: Int, _ name: String, _ what: String) throws(FormatError) {
        let type = H5Dget_type(set)
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == cls, H5Tget_size(type) == size else {
            throw .invalid(path: path, field: name, reason: "expected \(what)")
        }
    }
}
