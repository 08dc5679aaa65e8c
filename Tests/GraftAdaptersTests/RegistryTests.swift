import Dispatch
import Foundation
@testable import GraftAdapters
import GraftModel
import Synchronization
import Testing

/// The adapter registry: references, publishing and resolving, tags, removal, verification,
/// garbage collection, and publishers racing on one name.
@Suite struct RegistryTests {
    let root = NSTemporaryDirectory() + "graft-registry-\(UUID().uuidString)"
    var registry: Registry { Registry(root: root) }

    /// An adapter folder with the two files a version holds (their bytes are what counts here).
    func adapterFolder(_ seed: Int) throws -> String {
        let folder = root + "/src-\(seed)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }).write(to: URL(fileURLWithPath: folder + "/adapter.safetensors"))
        try Data("{\"seed\": \(seed)}".utf8).write(to: URL(fileURLWithPath: folder + "/adapter.json"))
        return folder
    }

    let draft = Registry.Draft(baseSHA256: String(repeating: "ab", count: 32), baseFile: "base.gguf", chatTemplate: "{{ x }}",
                               stopTokens: [2], lora: LoRAConfig(rank: 8, alpha: 16, targets: LoRATarget.allCases),
                               recipe: "[train]\nsteps = 1\n", metrics: ["val_loss": 0.5])

    @Test func referencesParse() throws {
        func ref(_ s: String) throws -> AdapterReference { try AdapterReference(parsing: s) }
        #expect(try ref("sql") == AdapterReference(source: .registry(name: "sql", selector: .newest)))
        #expect(try ref("sql@3") == AdapterReference(source: .registry(name: "sql", selector: .version(3))))
        #expect(try ref("sql@prod:0.5") == AdapterReference(source: .registry(name: "sql", selector: .tag("prod")), scale: 0.5))
        #expect(try ref("adapters/sql") == AdapterReference(source: .folder("adapters/sql")))
        #expect(try ref("./sql:2") == AdapterReference(source: .folder("./sql"), scale: 2))
        #expect(try ref("sql@prod:0.5").description == "sql@prod:0.5")
        for bad in ["", ":0.5", "sql@", "sql@0", "sql:x", "sql:inf", "-sql", "s ql", "sql@pr od", String(repeating: "a", count: 65)] {
            #expect(throws: RegistryError.self, "'\(bad)'") { try ref(bad) }
        }
        #expect(throws: RegistryError.badReference("sql@0", reason: "versions are numbered from 1, found '0'")) { try ref("sql@0") }
    }

    @Test func publishResolveTagRemove() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = try registry.publish(folder: try adapterFolder(1), as: "sql", draft)
        let second = try registry.publish(folder: try adapterFolder(2), as: "sql", draft)
        #expect(first.version == 1 && second.version == 2 && registry.versions(of: "sql") == [1, 2] && registry.names() == ["sql"])
        #expect(try registry.resolve(AdapterReference(parsing: "sql")) == second)
        #expect(try registry.resolve(AdapterReference(parsing: "sql@1")) == first)
        #expect(first.baseSHA256 == draft.baseSHA256 && first.chatTemplate == "{{ x }}" && first.stopTokens == [2]
                && first.recipe == draft.recipe && first.metrics == ["val_loss": 0.5] && first.lora.rank == 8)
        #expect(try registry.fileData(first, "adapter.json") == Data("{\"seed\": 1}".utf8))
        try registry.tag(AdapterReference(parsing: "sql@1"), as: "prod")
        #expect(try registry.resolve(AdapterReference(parsing: "sql@prod")) == first)
        #expect(throws: RegistryError.badName("3", reason: "a tag may not be a number (that is a version)")) {
            try registry.tag(AdapterReference(parsing: "sql@1"), as: "3")
        }
        #expect(throws: RegistryError.tagged("sql@1", tags: ["prod"])) { try registry.remove(AdapterReference(parsing: "sql@1")) }
        try registry.remove(AdapterReference(parsing: "sql@1"), force: true)
        #expect(registry.versions(of: "sql") == [2] && registry.tags(of: "sql").isEmpty)
        #expect(throws: RegistryError.notFound("sql@1")) { try registry.resolve(AdapterReference(parsing: "sql@1")) }
        #expect(throws: RegistryError.notFound("sql@prod")) { try registry.resolve(AdapterReference(parsing: "sql@prod")) }
        // The removed version's blobs go with garbage collection; the other version's stay.
        let collected = registry.collectGarbage()
        #expect(collected.blobs == 2 && collected.bytes == 4096 + 11)
        #expect(registry.verify().isEmpty)
        // Publishing again continues the numbering.
        #expect(try registry.publish(folder: try adapterFolder(3), as: "sql", draft).version == 3)
    }

    /// A reference resolves to a folder with the version's files, byte for byte (what
    /// `--adapter` attaches); a folder reference is used as it is.
    @Test func referencesResolveToFolders() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = try adapterFolder(5)
        try registry.publish(folder: source, as: "sql", draft)
        try registry.tag(AdapterReference(parsing: "sql"), as: "prod")
        let resolved = try AdapterSource("sql@prod:0.5", registry: registry)
        #expect(resolved.reference.scale == 0.5)
        let (path, version) = try resolved.folder()
        #expect(version?.reference == "sql@1" && path == root + "/checkouts/sql/1")
        for file in Registry.adapterFiles {
            #expect(FileManager.default.contents(atPath: path + "/" + file) == FileManager.default.contents(atPath: source + "/" + file))
        }
        #expect(try AdapterSource("./some/folder", registry: registry).folder().path == "./some/folder")
        #expect(throws: RegistryError.notFound("other")) { try AdapterSource("other", registry: registry).folder() }
    }

    /// Two publishers (separate registry values on separate threads, as two processes would be)
    /// race on one name: every publish succeeds with its own version and nothing is damaged.
    @Test func racingPublishersGetDistinctVersions() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folders = try (0..<2).map { try adapterFolder(10 + $0) }
        let perPublisher = 12
        let results = Mutex<[Int]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { p in
            let mine = Registry(root: root)
            for _ in 0..<perPublisher {
                do {
                    let v = try mine.publish(folder: folders[p], as: "race", draft).version
                    results.withLock { $0.append(v) }
                } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let versions = results.withLock { $0 }.sorted()
        #expect(versions == Array(1...(2 * perPublisher)))
        #expect(registry.versions(of: "race") == versions)
        #expect(registry.verify().isEmpty)
    }

    /// Two `graft adapters add` processes publish one name eight times each, at once: sixteen
    /// distinct versions, all intact. (The `graft` binary is built beside the test runner.)
    @Test func racingProcessesGetDistinctVersions() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let graft = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("graft").path
        guard FileManager.default.isExecutableFile(atPath: graft) else {
            Issue.record("no graft binary at \(graft): build the products with the tests (`make test`)")
            return
        }
        let folder = try adapterFolder(20)
        let manifest = AdapterDirectory.Manifest(name: "race", baseSHA256: draft.baseSHA256, baseFile: "base.gguf", lora: draft.lora,
                                                 trainedSteps: 1)
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: folder + "/adapter.json"))
        let publishers = (0..<2).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "for i in 1 2 3 4 5 6 7 8; do \"$0\" adapters add \"$1\" > /dev/null || exit 1; done", graft, folder]
            p.environment = ProcessInfo.processInfo.environment.merging(["GRAFT_HOME": root]) { $1 }
            return p
        }
        for p in publishers { try p.run() }
        for p in publishers { p.waitUntilExit() }
        #expect(publishers.allSatisfy { $0.terminationStatus == 0 })
        #expect(registry.versions(of: "race") == Array(1...16))
        #expect(registry.verify().isEmpty)
    }

    /// A blob cut short or altered is named on read and by verify; a killed publisher's leftovers
    /// (temporary files, blobs no version names) are not versions and go with garbage collection.
    @Test func damageIsDetectedAndLeftoversCollected() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let m = try registry.publish(folder: try adapterFolder(4), as: "sql", draft)
        let digest = m.files["adapter.safetensors"]!
        let path = registry.blobs.path(digest)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 100)
        try handle.close()
        #expect(throws: RegistryError.self) { try registry.fileData(m, "adapter.safetensors") }
        let problems = registry.verify()
        #expect(problems.count == 1)
        if case let .corrupt(badPath, expected, _) = problems.first { #expect(badPath == path && expected == digest) }
        else { Issue.record("expected a corrupt blob, got \(problems)") }
        #expect("\(problems[0])".contains(path))
        // Leftovers of a publisher killed before it linked its manifest.
        try Data("partial".utf8).write(to: URL(fileURLWithPath: registry.temporary + "/manifest-killed"))
        _ = try registry.blobs.put(Data("orphan".utf8))
        #expect(registry.versions(of: "sql") == [1])
        let collected = registry.collectGarbage()
        #expect(collected.blobs == 1)
        #expect((try FileManager.default.contentsOfDirectory(atPath: registry.temporary)).isEmpty)
    }
}
