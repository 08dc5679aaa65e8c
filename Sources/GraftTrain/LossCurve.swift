import Foundation

/// A loss-curve picture as SVG: training loss per step (a line, with a moving average when
/// noisy) and validation loss (dots), on labelled axes.
public enum LossCurve {
    public static func svg(train: [(Int, Double)], valid: [(Int, Double)], title: String) -> String {
        let (w, h) = (720.0, 420.0)
        let (left, right, top, bottom) = (64.0, 20.0, 36.0, 48.0)
        let all = train.map(\.1) + valid.map(\.1)
        let maxStep = Double(max(1, (train.map(\.0) + valid.map(\.0)).max() ?? 1))
        var lo = all.min() ?? 0, hi = all.max() ?? 1
        if hi - lo < 1e-6 { hi += 0.5; lo -= 0.5 }
        let pad = (hi - lo) * 0.05
        lo = max(0, lo - pad); hi += pad
        func x(_ s: Int) -> Double { left + (w - left - right) * Double(s) / maxStep }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)) }
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(w / 2)" y="20" text-anchor="middle" font-size="14">\(escape(title))</text>

        """
        for i in 0...5 {
            let v = lo + (hi - lo) * Double(i) / 5
            out += "<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(y(v))\" y2=\"\(y(v))\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.3f", v))</text>\n"
            let s = Int((maxStep * Double(i) / 5).rounded())
            out += "<text x=\"\(x(s))\" y=\"\(h - bottom + 16)\" text-anchor=\"middle\">\(s)</text>\n"
        }
        out += "<text x=\"\(w / 2)\" y=\"\(h - 10)\" text-anchor=\"middle\">step</text>"
        out += "<text x=\"16\" y=\"\(h / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(h / 2))\">loss</text>\n"
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w - left - right)\" height=\"\(h - top - bottom)\" fill=\"none\" stroke=\"#444\"/>\n"
        if !train.isEmpty {
            out += polyline(train.map { (x($0.0), y($0.1)) }, color: "#9ecae1", width: 1)
            let window = max(1, train.count / 30)
            if window > 1 {
                let smooth = train.indices.map { i -> (Double, Double) in
                    let slice = train[max(0, i - window + 1)...i]
                    return (x(train[i].0), y(slice.map(\.1).reduce(0, +) / Double(slice.count)))
                }
                out += polyline(smooth, color: "#08519c", width: 2)
            }
        }
        for (s, v) in valid {
            out += "<circle cx=\"\(x(s))\" cy=\"\(y(v))\" r=\"4\" fill=\"#e6550d\"/>\n"
        }
        out += "<text x=\"\(w - right - 8)\" y=\"\(top + 16)\" text-anchor=\"end\" fill=\"#08519c\">train loss</text>"
        out += "<text x=\"\(w - right - 8)\" y=\"\(top + 32)\" text-anchor=\"end\" fill=\"#e6550d\">validation loss</text>\n</svg>\n"
        return out
    }

    static func polyline(_ points: [(Double, Double)], color: String, width: Double) -> String {
        let p = points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
        return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\" points=\"\(p)\"/>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
