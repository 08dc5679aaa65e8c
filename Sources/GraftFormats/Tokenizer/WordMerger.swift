/// Runs BPE on one word: starting from one piece per byte, repeatedly merge the adjacent pair with
/// the lowest rank (the leftmost on ties) until no adjacent pair has a merge. This is llama.cpp's
/// `llm_tokenizer_bpe_session` loop: a min-heap of candidate pairs, where a candidate whose pieces
/// have changed since it was pushed is dropped when popped. O(n log n) in the word's length, so a
/// long run without spaces (base64, a minified line) stays fast. Keeps its buffers between words.
struct WordMerger {
    private struct Candidate {
        var rank: Int32
        var left: Int32          // position of the left piece
        var right: Int32         // position of the right piece
        var leftPiece: Int32     // the pieces when pushed, to detect stale candidates
        var rightPiece: Int32
        var result: Int32

        /// Heap order: lower rank first, then the leftmost pair.
        @inline(__always)
        func precedes(_ other: Candidate) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }

    private var pieces: [Int32] = []   // piece at each position; -1 once merged into its left
    private var next: [Int32] = []
    private var previous: [Int32] = []
    private var heap: [Candidate] = []

    /// The pieces `word` merges into, in order.
    mutating func merge(_ word: ArraySlice<UInt8>, using table: MergeTable) -> [Int32] {
        let count = word.count
        pieces.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for (position, byte) in word.enumerated() {
            pieces.append(table.byteSymbols[Int(byte)])
            next.append(position + 1 < count ? Int32(position + 1) : -1)
            previous.append(Int32(position - 1))
        }
        for position in 0..<max(count - 1, 0) { push(Int32(position), Int32(position + 1), table) }

        while let best = popFirst() {
            let left = Int(best.left), right = Int(best.right)
            guard pieces[left] == best.leftPiece, pieces[right] == best.rightPiece,
                  next[left] == best.right else { continue }
            pieces[left] = best.result
            pieces[right] = -1
            let after = next[right]
            next[left] = after
            if after >= 0 { previous[Int(after)] = best.left }
            if previous[left] >= 0 { push(previous[left], best.left, table) }
            if after >= 0 { push(best.left, after, table) }
        }

        var result: [Int32] = []
        var position: Int32 = count > 0 ? 0 : -1
        while position >= 0 {
            result.append(pieces[Int(position)])
            position = next[Int(position)]
        }
        return result
    }

    private mutating func push(_ left: Int32, _ right: Int32, _ table: MergeTable) {
        let leftPiece = pieces[Int(left)], rightPiece = pieces[Int(right)]
        guard let merge = table.merge(leftPiece, rightPiece) else { return }
        heap.append(Candidate(rank: merge.rank, left: left, right: right,
                              leftPiece: leftPiece, rightPiece: rightPiece, result: merge.result))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popFirst() -> Candidate? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let first = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let leftChild = 2 * parent + 1, rightChild = leftChild + 1
            var smallest = parent
            if leftChild < heap.count && heap[leftChild].precedes(heap[smallest]) { smallest = leftChild }
            if rightChild < heap.count && heap[rightChild].precedes(heap[smallest]) { smallest = rightChild }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
