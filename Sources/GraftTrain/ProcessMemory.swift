import Foundation

/// The process's peak resident memory (VmHWM from /proc/self/status), in bytes; 0 where the
/// kernel does not report it.
public enum ProcessMemory {
    public static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }
}
