import ArgumentParser
import GraftFormats

/// `graft inspect MODEL`: the metadata and the tensor table of a GGUF file.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a GGUF file's metadata and tensor table.")

    @Argument(help: "Path to a .gguf file.") var model: String

    func run() throws {
        let file = try GGUFFile(path: model)
        print("\(model): GGUF v\(file.version), \(file.keys.count) metadata keys, \(file.tensors.count) tensors, alignment \(file.alignment)")
        print("\nmetadata:")
        let width = file.keys.map(\.count).max() ?? 0
        for key in file.keys {
            let v = file.metadata[key]!
            print("  \(key.padding(toLength: width, withPad: " ", startingAt: 0))  \(GGUFValue.typeName(v.typeID).padding(toLength: 7, withPad: " ", startingAt: 0))  \(v.summary)")
        }
        print("\ntensors:")
        let nameWidth = file.tensors.map(\.name.count).max() ?? 0
        var bytesByType: [String: Int] = [:]
        for t in file.tensors {
            print("  \(t.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \(t.type.description.padding(toLength: 5, withPad: " ", startingAt: 0))  \(t.shape)  \(t.byteCount) bytes @ \(t.fileOffset)")
            bytesByType["\(t.type)", default: 0] += t.byteCount
        }
        let total = bytesByType.values.reduce(0, +)
        print("\n\(file.tensors.count) tensors, \(total) bytes: " + bytesByType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
}
