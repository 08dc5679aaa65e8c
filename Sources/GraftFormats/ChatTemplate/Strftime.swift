import Foundation

/// `datetime.now().strftime(format)` as transformers' `strftime_now` global runs it on Linux:
/// glibc's conversions in the C locale, with Python's own handling of `%f` (microseconds) and of
/// `%z`/`%Z` (empty for the naive local time `datetime.now()` returns).
enum Strftime {
    private static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]

    static func format(_ format: String, date: Date, timeZone: TimeZone) throws(EvalError) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond, .weekday], from: date)
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        let (year, month, day) = (c.year!, c.month!, c.day!)
        let (hour, minute, second, weekday) = (c.hour!, c.minute!, c.second!, c.weekday! - 1)   // weekday: 0 = Sunday

        func expand(_ format: String) throws(EvalError) -> String {
            var out = ""
            var it = Array(format.unicodeScalars)[...]
            while let ch = it.popFirst() {
                guard ch == "%" else { out.unicodeScalars.append(ch); continue }
                var flag: Unicode.Scalar? = nil
                if let f = it.first, "-_0^".unicodeScalars.contains(f) { flag = f; it = it.dropFirst() }
                guard let d = it.popFirst() else { out += "%"; break }
                func number(_ v: Int, _ width: Int, pad: Character = "0") -> String {
                    let digits = String(v)
                    switch flag {
                    case "-": return digits
                    case "_": return String(repeating: " ", count: max(0, width - digits.count)) + digits
                    case "0": return String(repeating: "0", count: max(0, width - digits.count)) + digits
                    default: return String(repeating: pad, count: max(0, width - digits.count)) + digits
                    }
                }
                func name(_ s: String) -> String { flag == "^" ? s.uppercased() : s }
                switch d {
                case "a": out += name(String(days[weekday].prefix(3)))
                case "A": out += name(days[weekday])
                case "b", "h": out += name(String(months[month - 1].prefix(3)))
                case "B": out += name(months[month - 1])
                case "c": out += try expand("%a %b %e %H:%M:%S %Y")
                case "C": out += number(year / 100, 2)
                case "d": out += number(day, 2)
                case "e": out += number(day, 2, pad: " ")
                case "D", "x": out += try expand("%m/%d/%y")
                case "F": out += try expand("%Y-%m-%d")
                case "T", "X": out += try expand("%H:%M:%S")
                case "R": out += try expand("%H:%M")
                case "r": out += try expand("%I:%M:%S %p")
                case "H": out += number(hour, 2)
                case "I": out += number(hour % 12 == 0 ? 12 : hour % 12, 2)
                case "j": out += number(dayOfYear, 3)
                case "m": out += number(month, 2)
                case "M": out += number(minute, 2)
                case "S": out += number(second, 2)
                case "p": out += hour < 12 ? "AM" : "PM"
                case "y": out += number(year % 100, 2)
                case "Y": out += number(year, 1)
                case "u": out += String(weekday == 0 ? 7 : weekday)
                case "w": out += String(weekday)
                case "f": out += number(min(999_999, Int((Double(c.nanosecond!) / 1000).rounded())), 6)
                case "z", "Z": break
                case "n": out += "\n"
                case "t": out += "\t"
                case "%": out += "%"
                default: throw .unsupported("strftime directive %\(d)")
                }
            }
            return out
        }
        return try expand(format)
    }
}
