/// The GPT-2 and Llama-3 pre-tokenizer regexes as hand-written scanners over one segment, with the
/// semantics of llama.cpp's `unicode_regex_split_custom_gpt2` / `_llama3` / `_qwen2`: the first
/// alternative that matches at a position wins, each quantifier is greedy, and positions past the
/// segment's end match nothing (the segment is a whole text to the regex).
struct PatternScanner {
    let text: ClassifiedText
    let end: Int

    private static let space: UInt32 = 0x20
    private static let apostrophe: UInt32 = 0x27
    private static let carriageReturn: UInt32 = 0x0D
    private static let lineFeed: UInt32 = 0x0A

    /// Whether the code point at `position` is inside the segment and of class `cls`.
    func has(_ cls: ScalarClass, at position: Int) -> Bool {
        position < end && text.classes[position].contains(cls)
    }

    /// `[^\s\p{L}\p{N}]` inside the segment.
    func isOther(at position: Int) -> Bool {
        position < end && text.classes[position].isDisjoint(with: [.letter, .number, .whitespace])
    }

    /// The end of the longest run from `start` whose code points satisfy `test`.
    func run(from start: Int, while test: (Int) -> Bool) -> Int {
        var position = start
        while position < end && test(position) { position += 1 }
        return position
    }

    private func isNewline(_ position: Int) -> Bool {
        position < end && (text.scalars[position] == Self.carriageReturn || text.scalars[position] == Self.lineFeed)
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `position` (ASCII case folded when `foldCase`): its end, or nil.
    /// Only ASCII letters matter here, so folding ASCII case equals llama.cpp's `unicode_tolower`.
    private func contractionEnd(at position: Int, foldCase: Bool) -> Int? {
        guard text.scalars[position] == Self.apostrophe, position + 1 < end else { return nil }
        func letter(_ p: Int) -> Unicode.Scalar {
            let c = text.scalars[p]
            return Unicode.Scalar(foldCase && (0x41...0x5A).contains(c) ? c + 0x20 : c) ?? "\u{0}"
        }
        switch letter(position + 1) {
        case "s", "t", "m", "d":
            return position + 2
        default:
            guard position + 2 < end else { return nil }
            switch (letter(position + 1), letter(position + 2)) {
            case ("r", "e"), ("v", "e"), ("l", "l"): return position + 3
            default: return nil
            }
        }
    }

    /// The end of GPT-2's match at `position`:
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    func gpt2Match(at position: Int) -> Int {
        if let end = contractionEnd(at: position, foldCase: false) { return end }
        // ` ?X+`: an optional leading space (U+0020 only), then a run of one class.
        let body = text.scalars[position] == Self.space ? position + 1 : position
        if has(.letter, at: body) { return run(from: body) { has(.letter, at: $0) } }
        if has(.number, at: body) { return run(from: body) { has(.number, at: $0) } }
        if isOther(at: body) { return run(from: body) { isOther(at: $0) } }
        return whitespaceMatch(at: position)
    }

    /// The end of the Llama-3 (maxDigits 3) or Qwen-2 (maxDigits 1) match at `position`:
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|
    /// \s*[\r\n]+|\s+(?!\S)|\s+`.
    func llama3Match(at position: Int, maxDigits: Int) -> Int {
        if let end = contractionEnd(at: position, foldCase: true) { return end }
        // `[^\r\n\p{L}\p{N}]?\p{L}+`: a letter run, optionally led by one other non-newline character.
        if !isNewline(position) && !has(.number, at: position)
            && (has(.letter, at: position) || has(.letter, at: position + 1)) {
            return run(from: position + 1) { has(.letter, at: $0) }
        }
        if has(.number, at: position) {
            return min(run(from: position) { has(.number, at: $0) }, position + maxDigits)
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let body = text.scalars[position] == Self.space ? position + 1 : position
        if isOther(at: body) {
            let symbolsEnd = run(from: body) { isOther(at: $0) }
            return run(from: symbolsEnd) { isNewline($0) }
        }
        // `\s*[\r\n]+`: a whitespace run up to and including its last newline.
        let spacesEnd = run(from: position) { has(.whitespace, at: $0) }
        if let lastNewline = (position..<spacesEnd).last(where: isNewline) { return lastNewline + 1 }
        return whitespaceMatch(at: position)
    }

    /// `\s+(?!\S)|\s+`, and a lone character when nothing matches: a whitespace run followed by a
    /// non-space gives back its last character, which then leads the next word (` ?\p{L}+` etc.).
    private func whitespaceMatch(at position: Int) -> Int {
        let spacesEnd = run(from: position) { has(.whitespace, at: $0) }
        let count = spacesEnd - position
        if count > 1 && spacesEnd < end { return spacesEnd - 1 }
        if count > 0 { return spacesEnd }
        return position + 1
    }
}
