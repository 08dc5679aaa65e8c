import CLibCrypto
import Foundation

/// SHA-256 of a file's bytes, as lowercase hex (what `sha256sum` prints). Adapters and
/// checkpoints carry their base model's hash, so they are never applied to another base.
public enum ContentHash {
    public static func sha256(path: String) throws(FormatError) -> String {
        let file = try MappedFile(path: path)
        return sha256(file.bytes)
    }

    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, EVP_sha256(), nil)
        precondition(ok == 1 && length == 32, "libcrypto's SHA-256 failed")
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}
