import Foundation

/// Wall-clock timing for benchmarks: a warm-up run, then `repeats` timed runs; the median is
/// reported, because these shared machines are noisy (identical runs differ by up to 2x).
struct Measurement {
    let seconds: [Double]
    var median: Double { seconds.sorted()[seconds.count / 2] }
    var best: Double { seconds.min()! }

    init(repeats: Int, warmup: Int = 1, _ body: () -> Void) {
        for _ in 0..<warmup { body() }
        var s: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            s.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        seconds = s
    }
}

/// A fixed-width text table printed to stdout.
struct Table {
    let headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }
    init(_ headers: [String]) { self.headers = headers }

    mutating func add(_ cells: String...) { rows.append(cells) }
    mutating func add(_ cells: [String]) { rows.append(cells) }

    func print() {
        let widths = headers.indices.map { i in max(headers[i].count, rows.map { $0[i].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ")
        }
        Swift.print(line(headers))
        Swift.print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for r in rows { Swift.print(line(r)) }
    }
}

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }

/// Runs a peer (or a worker copy of this binary) and decodes the JSON object on the last line of
/// its standard output; nil when it cannot start, fails, or prints something else.
func lastJSONLine<T: Decodable>(of executable: String, _ arguments: [String], as _: T.Type) -> T? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last else { return nil }
    return try? JSONDecoder().decode(T.self, from: Data(line.utf8))
}
