import ArgumentParser
import Foundation
import GraftAdapters
import GraftFormats
import GraftModel

/// `graft adapters list | show REF | rm REF | tag REF TAG | verify [REF] | gc`: the registry at
/// `GRAFT_HOME` (default `~/.graft`).
struct Adapters: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The adapter registry (GRAFT_HOME, default ~/.graft): named, versioned adapters tied to their base.",
        subcommands: [List.self, Show.self, Add.self, Remove.self, Tag.self, Verify.self, GarbageCollect.self])

    static var registry: Registry { Registry(root: Registry.defaultRoot()) }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every adapter name with its versions and tags.")
        func run() throws {
            let registry = Adapters.registry
            let names = registry.names()
            if names.isEmpty { print("no adapters in \(registry.root)") }
            for name in names {
                let tags = registry.tags(of: name)
                for v in registry.versions(of: name) {
                    let m = try registry.manifest(name, version: v)
                    let tagged = tags.filter { $0.value == v }.keys.sorted()
                    let loss = m.metrics["val_loss"].map { String(format: "val_loss %.4f", $0) } ?? ""
                    print("\(m.reference)\t\(m.created)\tr=\(m.lora.rank)\tbase \(m.baseFile) \(m.baseSHA256.prefix(12))\t\(loss)"
                          + (tagged.isEmpty ? "" : "\ttags: " + tagged.joined(separator: ",")))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One version's manifest (JSON).")
        @Argument(help: "NAME, NAME@VERSION or NAME@TAG.") var reference: String
        func run() throws {
            let m = try Adapters.registry.resolve(AdapterReference(parsing: reference))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(m), as: UTF8.self))
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish an adapter folder (from `graft train`) as the next version of a name.")
        @Argument(help: "The folder (adapter.safetensors and adapter.json).") var folder: String
        @Option(help: "The name to publish under (default: the adapter's own name).") var name: String?
        @Option(help: "The base model (.gguf): checked against the adapter's base hash; its chat template and stop tokens are recorded.")
        var model: String?
        @Flag(help: "Publish even if --model is not the adapter's base.") var force = false
        func run() throws {
            let manifest = try AdapterDirectory(path: folder).readManifest()
            var template: String?, stops: [Int32] = []
            if let model {
                let hash = try ContentHash.sha256(path: model)
                guard force || hash == manifest.baseSHA256 else {
                    throw ValidationError("the adapter was trained on \(manifest.baseFile) (sha256 \(manifest.baseSHA256)), not on \(model) (sha256 \(hash))")
                }
                let lm = try LanguageModel(path: model, forDecoding: false)
                template = lm.chatTemplate?.source
                stops = lm.stopTokens.sorted()
            }
            let version = try Adapters.registry.publish(folder: folder, as: name ?? manifest.name,
                                                        Registry.Draft(manifest, chatTemplate: template, stopTokens: stops))
            print("published: \(version.reference)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a version (its blobs go with gc).")
        @Argument(help: "NAME@VERSION, NAME@TAG or NAME (the newest).") var reference: String
        @Flag(help: "Remove it even when tags point at it (the tags go too).") var force = false
        func run() throws {
            try Adapters.registry.remove(AdapterReference(parsing: reference), force: force)
            print("removed \(reference)")
        }
    }

    struct Tag: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Point a tag at a version.")
        @Argument(help: "NAME@VERSION, NAME@TAG or NAME (the newest).") var reference: String
        @Argument(help: "The tag (letters, digits, '.', '_', '-'; not a number).") var tag: String
        func run() throws {
            let registry = Adapters.registry
            let ref = try AdapterReference(parsing: reference)
            try registry.tag(ref, as: tag)
            print("\(try registry.resolve(ref).name)@\(tag) → \(try registry.resolve(ref).reference)")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check that every blob of one version (or all) is intact.")
        @Argument(help: "NAME, NAME@VERSION or NAME@TAG; all versions when omitted.") var reference: String?
        func run() throws {
            let problems = Adapters.registry.verify(try reference.map { try AdapterReference(parsing: $0) })
            for p in problems { print(p) }
            if !problems.isEmpty { throw ExitCode(1) }
            print("ok")
        }
    }

    struct GarbageCollect: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove blobs no version refers to.")
        func run() throws {
            let (blobs, bytes) = Adapters.registry.collectGarbage()
            print("removed \(blobs) blobs, \(bytes) bytes")
        }
    }
}
