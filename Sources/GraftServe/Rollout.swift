import Foundation
import GraftFormats

/// A canary rollout between versions of one adapter name: requests for the bare name go to
/// versions by weight, and each user to one version. A user's place on a ring of 10,000 points
/// is a hash of (name, user), and the versions own consecutive arcs in version order sized by
/// their weights, so a user keeps their version while the weights stay the same and moving
/// weight from the old version to the new one only moves users onto the new one (a 90/10
/// rollout raised to 50/50 keeps every user who already had the new version). Requests with no
/// user are placed by a fresh random point.
public struct Rollout: Sendable, Equatable, Codable {
    /// Weight per version number; at least one positive.
    public private(set) var weights: [Int: Double]
    /// The versions the rollout was set up with, kept when it is settled on one of them, so a
    /// promote can still be rolled back (and the other way round).
    public private(set) var members: [Int]

    public init(weights: [Int: Double]) throws(APIError) {
        guard !weights.isEmpty else { throw .invalid("versions", "'versions' needs at least one version") }
        for (version, weight) in weights {
            guard version >= 1 else { throw .invalid("versions", "version numbers start at 1, found \(version)") }
            guard weight.isFinite, weight >= 0 else { throw .invalid("versions", "the weight of version \(version) must be a number ≥ 0") }
        }
        guard weights.values.reduce(0, +) > 0 else { throw .invalid("versions", "at least one version needs a weight above 0") }
        self.weights = weights
        members = weights.keys.sorted()
    }

    /// Reads `{"versions": {"3": 90, "4": 10}}`.
    init(fields: RequestFields) throws(APIError) {
        guard let value = fields["versions"] else { throw .invalid("versions", "'versions' is required: {\"versions\": {\"3\": 90, \"4\": 10}}") }
        guard case .object(let entries) = value else { throw .invalid("versions", "'versions' must be an object of version: weight, found \(value.kind)") }
        var weights: [Int: Double] = [:]
        for (key, weight) in entries {
            guard let version = Int(key.hasPrefix("v") ? String(key.dropFirst()) : key) else {
                throw .invalid("versions", "'\(key)' is not a version number")
            }
            guard let w = weight.double else { throw .invalid("versions", "the weight of version \(key) must be a number, found \(weight.kind)") }
            weights[version] = w
        }
        try self.init(weights: weights)
    }

    /// The versions in order, with their share of traffic (0…1).
    public var shares: [(version: Int, share: Double)] {
        let total = weights.values.reduce(0, +)
        return weights.keys.sorted().map { ($0, weights[$0]! / total) }
    }

    /// The version for a user of `name` (random when `user` is nil).
    public func version(name: String, user: String?) -> Int {
        let point: Double
        if let user {
            let digest = Data("\(name)\u{0}\(user)".utf8).withUnsafeBytes { ContentHash.sha256($0) }
            point = Double(UInt64(digest.prefix(12), radix: 16)! % 10_000) / 10_000
        } else {
            point = Double.random(in: 0..<1)
        }
        var edge = 0.0
        let shares = self.shares
        for (version, share) in shares {
            edge += share
            if point < edge { return version }
        }
        return shares.last { $0.share > 0 }!.version
    }

    /// All traffic on one of the members, which stay what they were.
    public func settled(on version: Int) -> Rollout {
        var r = self
        r.weights = [version: 1]
        r.members = Array(Set(members + [version])).sorted()
        return r
    }
}
