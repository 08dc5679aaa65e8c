import Foundation

/// `report.json`, `report.svg` (percentiles of time to first token and latency, and throughput,
/// against the level, the knee marked), `report.png` when a headless Chromium is at hand, and
/// `report.html` with the picture, the sentences and the tables.
public enum ReportWriter {
    static let colors = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700"]

    public static func svg(_ comparison: Comparison) -> String {
        let (w, h) = (960.0, 560.0)
        let (left, right, top, bottom) = (70.0, 80.0, 40.0, 60.0)
        let reports = comparison.reports
        let all = reports.flatMap(\.levels)
        guard !all.isEmpty else { return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"100\"><text x=\"10\" y=\"50\">no levels</text></svg>" }
        let isRate = all[0].isRate
        let xs = all.map(\.offered)
        let (xmin, xmax) = (xs.min()!, xs.max()!)
        let logX = xmax / max(xmin, 1e-9) >= 8
        func fx(_ v: Double) -> Double {
            let t: Double
            if xmax == xmin { t = 0.5 } else if logX { t = log2(v / xmin) / log2(xmax / xmin) } else { t = (v - xmin) / (xmax - xmin) }
            return left + t * (w - left - right)
        }
        let latMax = max(all.map { max($0.e2e.p99, $0.ttft.p99) }.max()! * 1.1, 0.01)
        func fy(_ v: Double) -> Double { top + (1 - min(v, latMax) / latMax) * (h - top - bottom) }
        let thrMax = max(all.map(\.outputTokensPerSecond).max()! * 1.1, 1)
        func fyt(_ v: Double) -> Double { top + (1 - v / thrMax) * (h - top - bottom) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="22" font-size="15" font-weight="bold">Latency percentiles and throughput against \(isRate ? "arrival rate (requests/s)" : "concurrency")</text>
        <line x1="\(left)" y1="\(h - bottom)" x2="\(w - right)" y2="\(h - bottom)" stroke="#333"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(h - bottom)" stroke="#333"/>
        <line x1="\(w - right)" y1="\(top)" x2="\(w - right)" y2="\(h - bottom)" stroke="#333"/>
        <text x="\(left - 50)" y="\(top - 8)">latency (s)</text>
        <text x="\(w - right - 20)" y="\(top - 8)">output tokens/s</text>

        """
        for i in 0...5 {
            let v = latMax * Double(i) / 5, y = fy(v)
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(w - right)\" y2=\"\(y)\" stroke=\"#eee\"/><text x=\"\(left - 8)\" y=\"\(y + 4)\" text-anchor=\"end\">\(String(format: "%.2f", v))</text>"
            s += "<text x=\"\(w - right + 8)\" y=\"\(fyt(thrMax * Double(i) / 5) + 4)\">\(String(format: "%.0f", thrMax * Double(i) / 5))</text>\n"
        }
        for v in Set(xs).sorted() {
            s += "<text x=\"\(fx(v))\" y=\"\(h - bottom + 18)\" text-anchor=\"middle\">\(String(format: "%g", v))</text>\n"
        }
        s += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 15)\" text-anchor=\"middle\">\(isRate ? "requests per second offered" : "concurrent clients")</text>\n"
        var legend = 0
        func line(_ points: [(Double, Double)], _ color: String, dash: String?, width: Double, label: String) {
            guard !points.isEmpty else { return }
            let path = points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") points=\"\(path)\"/>\n"
            for p in points { s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%@\"/>", p.0, p.1, color) }
            let ly = top + 8 + Double(legend) * 16
            s += "<line x1=\"\(left + 12)\" y1=\"\(ly)\" x2=\"\(left + 36)\" y2=\"\(ly)\" stroke=\"\(color)\" stroke-width=\"\(width)\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>"
            s += "<text x=\"\(left + 42)\" y=\"\(ly + 4)\">\(escape(label))</text>\n"
            legend += 1
        }
        for (r, report) in reports.enumerated() {
            let c = colors[r % colors.count]
            let lv = report.levels
            line(lv.map { (fx($0.offered), fy($0.e2e.p50)) }, c, dash: "2,3", width: 1.5, label: "\(report.name) latency p50")
            line(lv.map { (fx($0.offered), fy($0.e2e.p95)) }, c, dash: nil, width: 2, label: "\(report.name) latency p95")
            line(lv.map { (fx($0.offered), fy($0.e2e.p99)) }, c, dash: "6,3", width: 1, label: "\(report.name) latency p99")
            line(lv.map { (fx($0.offered), fy($0.ttft.p95)) }, c, dash: "1,2", width: 2.5, label: "\(report.name) TTFT p95")
            line(lv.map { (fx($0.offered), fyt($0.outputTokensPerSecond)) }, c, dash: "10,4", width: 3, label: "\(report.name) output tokens/s (right axis)")
            if let k = report.knee.index {
                let x = fx(lv[k].offered)
                s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(h - bottom)\" stroke=\"\(c)\" stroke-dasharray=\"4,4\"/>"
                s += "<text x=\"\(x + 4)\" y=\"\(h - bottom - 8 - Double(r) * 14)\" fill=\"\(c)\">\(escape(report.name)) knee: \(escape(report.knee.cause?.rawValue ?? ""))</text>\n"
            }
        }
        return s + "</svg>\n"
    }

    static func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    public static func html(_ comparison: Comparison, svg: String) -> String {
        var body = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>graft load test</title>"
        body += "<style>body{font-family:sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;font-size:12px}"
        body += "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}p.knee{font-size:15px}</style></head><body>\n"
        body += "<h1>Load test</h1>\n<figure id=\"picture\">\(svg)</figure>\n"
        for report in comparison.reports {
            body += "<h2>\(escape(report.name)) <small>\(escape(report.url))</small></h2>\n"
            body += "<p class=\"knee\" id=\"knee-\(escape(report.name))\">\(escape(report.knee.sentence))</p>\n"
            if let c = report.knee.capacitySentence { body += "<p class=\"capacity\">\(escape(c))</p>\n" }
            let rows = report.table.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            body += "<table class=\"levels\"><tr>" + (rows.first ?? []).map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            for s in report.levels {
                func f(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }
                func pct(_ v: Double?) -> String { v.map { String(format: "%.0f%%", 100 * $0) } ?? "-" }
                var cells: [String] = [s.level, f(s.requestsPerSecond, 2), f(s.outputTokensPerSecond, 0)]
                cells += [f(s.ttft.p50), f(s.ttft.p95), f(s.ttft.p99), f(s.itl.p50), f(s.itl.p99), f(s.tpot.p50)]
                cells += [f(s.e2e.p50), f(s.e2e.p95), f(s.e2e.p999), f(s.goodput, 2), String(s.errors), String(s.rejected429)]
                cells += [pct(s.queueShareOfTTFT), pct(s.engineBusy), pct(s.maxKVUsage), f(s.inFlightMean, 1) + "/" + f(s.littlesLaw, 1)]
                cells += [pct(s.clientShare), s.dollarsPerMillionTokens.map { f($0, 2) } ?? "-"]
                body += "<tr>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
            }
            body += "</table>\n"
        }
        if comparison.reports.count > 1 { body += "<h2>Ratios</h2><pre id=\"ratios\">\(escape(comparison.table))</pre>\n" }
        body += "<p><small>Latencies in seconds. Knee: the first level where p95 latency grows by more than throughput (and by more than 10%). "
        body += "L=λW: requests in flight sampled by the client, against throughput × mean latency.</small></p>\n</body></html>\n"
        return body
    }

    /// Writes the files into `directory`; returns their paths (the PNG only when a Chromium ran).
    @discardableResult
    public static func write(_ comparison: Comparison, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let svgText = svg(comparison)
        var written: [String] = []
        func put(_ name: String, _ data: Data) throws {
            let path = (directory as NSString).appendingPathComponent(name)
            try data.write(to: URL(fileURLWithPath: path))
            written.append(path)
        }
        try put("report.json", try encoder.encode(comparison))
        try put("report.svg", Data(svgText.utf8))
        try put("report.html", Data(html(comparison, svg: svgText).utf8))
        let svgPath = (directory as NSString).appendingPathComponent("report.svg")
        let pngPath = (directory as NSString).appendingPathComponent("report.png")
        if let chromium = Chromium.path, Chromium.screenshot(chromium, url: URL(fileURLWithPath: svgPath).absoluteString, to: pngPath, size: (960, 560)) {
            written.append(pngPath)
        }
        return written
    }
}

/// A headless Chromium (Debian's `chromium`), for the PNG and for checking the HTML report.
public enum Chromium {
    public static var path: String? {
        for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return nil
    }

    static func run(_ chromium: String, _ args: [String], timeout: Double = 60) -> (status: Int32, output: String)? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    public static func screenshot(_ chromium: String, url: String, to path: String, size: (Int, Int)) -> Bool {
        guard let r = run(chromium, ["--screenshot=\(path)", "--window-size=\(size.0),\(size.1)", "--hide-scrollbars", url]) else { return false }
        return r.status == 0 && FileManager.default.fileExists(atPath: path)
    }

    /// The page's DOM after Chromium loaded it (scripts run, errors or not).
    public static func dumpDOM(_ chromium: String, url: String) -> String? {
        guard let r = run(chromium, ["--dump-dom", url]), r.status == 0 else { return nil }
        return r.output
    }
}
