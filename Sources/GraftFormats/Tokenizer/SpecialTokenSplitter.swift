/// Cuts text at the literal spellings of special tokens before anything else runs (formats.md
/// §2.5), as llama.cpp's `tokenizer_st_partition` does: special tokens are taken longest first,
/// and each one is cut out of every stretch of text the longer ones left, left to right. Matching
/// is on UTF-8 bytes, not Swift's canonical-equivalence string comparison.
struct SpecialTokenSplitter: Sendable {
    /// A stretch of the input: plain text (a byte range) or one special token.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Special: Sendable {
        let bytes: [UInt8]
        let id: Int32
        /// User-defined tokens are cut out even when special parsing is off.
        let isUserDefined: Bool
    }

    private let specials: [Special]

    /// Collects the special tokens among all `tokens`: control, user-defined and unknown-type ones,
    /// as in llama.cpp.
    init(tokens: [String], types: [TokenType]) {
        var specials: [Special] = []
        for (id, (token, type)) in zip(tokens, types).enumerated()
        where type == .control || type == .userDefined || type == .unknown {
            specials.append(Special(bytes: Array(token.utf8), id: Int32(id), isUserDefined: type == .userDefined))
        }
        // Longest first; llama.cpp's sort leaves equal lengths in no set order, we take id order.
        specials.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        self.specials = specials
    }

    /// The fragments of `text`, in order. Without `parseSpecial` only user-defined tokens are cut.
    func split(_ text: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<text.count)]
        text.withUnsafeBufferPointer { haystack in
            for special in specials where parseSpecial || special.isUserDefined {
                var cut: [Fragment] = []
                cut.reserveCapacity(fragments.count)
                for fragment in fragments {
                    guard case .text(let range) = fragment else {
                        cut.append(fragment)
                        continue
                    }
                    var start = range.lowerBound
                    while let match = Self.find(special.bytes, in: haystack, from: start, before: range.upperBound) {
                        if match > start { cut.append(.text(start..<match)) }
                        cut.append(.token(special.id))
                        start = match + special.bytes.count
                    }
                    if start < range.upperBound { cut.append(.text(start..<range.upperBound)) }
                }
                fragments = cut
            }
        }
        return fragments
    }

    /// The first position in `from..<before` where `needle` occurs whole.
    private static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>,
                             from start: Int, before end: Int) -> Int? {
        guard let first = needle.first, needle.count <= end - start else { return nil }
        var position = start
        let last = end - needle.count
        while position <= last {
            if haystack[position] == first {
                var k = 1
                while k < needle.count && haystack[position + k] == needle[k] { k += 1 }
                if k == needle.count { return position }
            }
            position += 1
        }
        return nil
    }
}
