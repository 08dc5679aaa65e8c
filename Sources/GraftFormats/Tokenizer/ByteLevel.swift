/// GPT-2's "bytes_to_unicode" table (formats.md §2.4): byte-level BPE vocabularies spell every
/// byte as one printable code point, so a token is a string and no token contains a raw space or
/// control byte. Printable Latin-1 bytes (0x21–0x7E, 0xA1–0xAC, 0xAE–0xFF) stand for themselves;
/// the other 68 bytes, in increasing order, take U+0100, U+0101, … (space 0x20 → U+0120 `Ġ`).
enum ByteLevel {
    /// The code point that spells each byte, indexed by byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 0x100
        for byte in 0..<256 {
            if standsForItself(UInt8(byte)) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The inverse, indexed by code point (all mapped code points are below U+0144); -1 where a
    /// code point spells no byte.
    private static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    /// The byte a code point spells, or nil for a code point outside the table.
    static func byte(for scalar: UInt32) -> UInt8? {
        guard scalar < UInt32(byteForScalar.count) else { return nil }
        let byte = byteForScalar[Int(scalar)]
        return byte < 0 ? nil : UInt8(byte)
    }

    private static func standsForItself(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}

extension ByteLevel {
    /// UTF-8 of the byte-level spelling of `bytes`: the string a vocabulary would hold for them.
    static func spell(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var spelled: [UInt8] = []
        spelled.reserveCapacity(bytes.count * 2)
        for byte in bytes { spelled.append(contentsOf: String(Unicode.Scalar(scalarForByte[Int(byte)])!).utf8) }
        return spelled
    }
}
