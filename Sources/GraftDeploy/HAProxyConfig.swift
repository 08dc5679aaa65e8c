import Foundation

/// An HAProxy configuration (Debian's haproxy 2.6 or newer) for graft replicas that share one
/// registry: requests are placed by the adapter their `model` names, on a consistent-hash ring
/// with bounded load, so each adapter's requests land where it is already in memory while no
/// replica takes more than `balanceFactor`% of the average load.
///
/// - Placement hashes the JSON body's `model` cut at `@` and `:` (`sql`, `sql@3` and
///   `sql@1:0.5+…` all place by `sql`), so every version of an adapter and a rollout between
///   them stay on one replica. A request without a readable `model` (GET routes) goes round robin.
/// - Each replica's `/ready` is checked every `checkInterval`; two failures mark it down (a
///   draining replica answers 503 and leaves the ring before it stops). A failed connection marks
///   it down at once.
/// - A request that never reached a replica (connection refused, or closed before any answer) is
///   sent again to another one; 429s and every other answer pass through to the client.
/// - HAProxy's own figures: the stats page at `/haproxy/stats` (`;csv` for machines) and its
///   Prometheus exporter at `/haproxy/metrics`.
public struct HAProxyConfig: Sendable, Equatable {
    public struct Replica: Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) { (self.host, self.port) = (host, port) }
    }

    public var replicas: [Replica]
    public var bind: String
    public var port: Int
    /// Seconds between health checks of each replica.
    public var checkInterval: Double
    /// A replica takes at most this percentage of the average load before the ring passes
    /// requests on to the next replica (HAProxy's `hash-balance-factor`; 0 turns it off).
    public var balanceFactor: Int
    /// Longest a generation may stream, in seconds (HAProxy's client and server timeouts).
    public var streamTimeout: Double

    public init(replicas: [Replica], bind: String = "0.0.0.0", port: Int, checkInterval: Double = 1, balanceFactor: Int = 150,
                streamTimeout: Double = 600) {
        self.replicas = replicas
        self.bind = bind
        self.port = port
        self.checkInterval = checkInterval
        self.balanceFactor = balanceFactor
        self.streamTimeout = streamTimeout
    }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// "host:port,host:port": at least one, each port 1…65535, no replica twice.
    public static func replicas(_ text: String) throws(ParseError) -> [Replica] {
        var replicas: [Replica] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.trimmingCharacters(in: .whitespaces)
            guard let colon = item.lastIndex(of: ":"), colon != item.startIndex,
                  let port = Int(item[item.index(after: colon)...]), (1...65535).contains(port) else {
                throw ParseError(description: "replica '\(item)': give HOST:PORT with a port from 1 to 65535")
            }
            let host = String(item[..<colon])
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || ".-_[]:".contains($0) }) else {
                throw ParseError(description: "replica '\(item)': the host has characters a host name cannot have")
            }
            let replica = Replica(host: host, port: port)
            guard !replicas.contains(replica) else { throw ParseError(description: "replica '\(item)' is given twice") }
            replicas.append(replica)
        }
        return replicas
    }

    /// The name HAProxy gives replica `i` (in its stats and the `X-Graft-Replica` header).
    public static func serverName(_ i: Int) -> String { "replica\(i + 1)" }

    static func duration(_ seconds: Double) -> String {
        seconds < 1 ? "\(max(1, Int((seconds * 1000).rounded())))ms" : "\(Int(seconds.rounded()))s"
    }

    public var text: String {
        let inter = Self.duration(checkInterval)
        var lines = [
            "# Written by `graft deploy haproxy` for \(replicas.count) graft replica\(replicas.count == 1 ? "" : "s") sharing one registry.",
            "# Run it with: haproxy -f haproxy.cfg   (check it with: haproxy -c -f haproxy.cfg)",
            "global",
            "    maxconn 8192",
            "    # One line per request (status, timings, replica) on standard output: journald under systemd.",
            "    log stdout format raw local0 info",
            "    # Whole request bodies fit in a buffer, so the model can be read from them.",
            "    tune.bufsize 1048576",
            "",
            "defaults",
            "    mode http",
            "    log global",
            "    option httplog",
            "    timeout connect 2s",
            "    # A replica busy generating may answer /ready late; only 2 s of silence fail a check.",
            "    timeout check 2s",
            "    # Answers stream for as long as generation runs.",
            "    timeout client \(Self.duration(streamTimeout))",
            "    timeout server \(Self.duration(streamTimeout))",
            "    timeout http-request 30s",
            "    timeout queue 30s",
            "    # A request that never reached a replica goes to another one; every answer a replica",
            "    # gave (429 included) goes back to the client as it is.",
            "    retries 3",
            "    option redispatch 1",
            "    retry-on conn-failure empty-response",
            "",
            "frontend graft",
            "    bind \(bind):\(port)",
            "    option http-buffer-request",
            "    stats enable",
            "    stats uri /haproxy/stats",
            "    stats refresh 5s",
            "    http-request use-service prometheus-exporter if { path /haproxy/metrics }",
            "    default_backend replicas",
            "",
            "backend replicas",
            "    # The adapter a request names, without version or scale: all of an adapter's",
            "    # requests (and a rollout between its versions) on one replica.",
            "    balance hash req.body,json_query('$.model'),field(1,@:)",
            "    hash-type consistent",
            "    hash-balance-factor \(balanceFactor)",
            "    option httpchk GET /ready",
            "    http-check expect status 200",
            "    http-response set-header X-Graft-Replica %s",
            "    default-server check inter \(inter) fastinter \(inter) downinter \(inter) fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down",
        ]
        for (i, r) in replicas.enumerated() {
            let host = r.host.contains(":") && !r.host.hasPrefix("[") ? "[\(r.host)]" : r.host
            lines.append("    server \(Self.serverName(i)) \(host):\(r.port)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
