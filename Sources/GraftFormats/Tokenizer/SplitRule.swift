/// One regex of a pre-tokenizer list, hand-coded the way llama.cpp's src/unicode.cpp runs it.
/// Applied to a segment, a rule cuts it into pieces that tile it: every match, and every gap
/// between matches as its own piece (formats.md §2.3). Ranges are code point indices.
enum SplitRule: Sendable {
    /// `\p{N}`: every number on its own.
    case isolatedNumbers
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, GPT-2's regex.
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|
    /// \s*[\r\n]+|\s+(?!\S)|\s+` with k = 3 (Llama 3) or k = 1 (Qwen 2).
    case llama3(maxDigits: Int)
    /// `[\p{P}\$\+<=>\^~\|]+`: runs of punctuation and these ASCII symbols.
    case punctuationRuns
    /// `\p{N}+`: runs of numbers.
    case numberRuns
    /// `[0-9][0-9][0-9]`: ASCII digit triples.
    case asciiDigitTriples

    /// Appends the pieces of `segment` to `pieces`, in order.
    func split(_ segment: Range<Int>, of text: ClassifiedText, into pieces: inout [Range<Int>]) {
        let scanner = PatternScanner(text: text, end: segment.upperBound)
        switch self {
        case .gpt2:
            tile(segment, into: &pieces) { scanner.gpt2Match(at: $0) }
        case .llama3(let maxDigits):
            tile(segment, into: &pieces) { scanner.llama3Match(at: $0, maxDigits: maxDigits) }
        case .isolatedNumbers:
            splitMatches(segment, into: &pieces) { scanner.has(.number, at: $0) ? $0 + 1 : nil }
        case .numberRuns:
            splitMatches(segment, into: &pieces) { start in
                let end = scanner.run(from: start) { scanner.has(.number, at: $0) }
                return end > start ? end : nil
            }
        case .punctuationRuns:
            splitMatches(segment, into: &pieces) { start in
                let end = scanner.run(from: start) {
                    scanner.has(.punctuation, at: $0) || Self.defaultSymbols.contains(text.scalars[$0])
                }
                return end > start ? end : nil
            }
        case .asciiDigitTriples:
            splitMatches(segment, into: &pieces) { start in
                guard start + 3 <= segment.upperBound else { return nil }
                let isDigits = (start..<(start + 3)).allSatisfy { (0x30...0x39).contains(text.scalars[$0]) }
                return isDigits ? start + 3 : nil
            }
        }
    }

    /// The ASCII symbols `$+<=>^~|` the default pre-tokenizer groups with punctuation.
    private static let defaultSymbols: Set<UInt32> = Set("$+<=>^~|".unicodeScalars.map(\.value))

    /// For the GPT-2 and Llama-3 scanners, which match at every position (a lone character that no
    /// alternative takes is a gap, and a piece of its own either way): consecutive matches.
    private func tile(_ segment: Range<Int>, into pieces: inout [Range<Int>], match: (Int) -> Int) {
        var position = segment.lowerBound
        while position < segment.upperBound {
            let end = match(position)
            pieces.append(position..<end)
            position = end
        }
    }

    /// Leftmost-first matching as std::regex_iterator does it: `match(p)` gives the end of a
    /// (non-empty) match starting at p, or nil; the text between matches is kept as pieces.
    private func splitMatches(_ segment: Range<Int>, into pieces: inout [Range<Int>], match: (Int) -> Int?) {
        var gapStart = segment.lowerBound
        var position = segment.lowerBound
        while position < segment.upperBound {
            guard let end = match(position) else {
                position += 1
                continue
            }
            if gapStart < position { pieces.append(gapStart..<position) }
            pieces.append(position..<end)
            position = end
            gapStart = end
        }
        if gapStart < segment.upperBound { pieces.append(gapStart..<segment.upperBound) }
    }
}
