/// What is wrong with a dataset file, naming the file and, for a bad example, its line.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case empty(path: String)
    case malformed(path: String, line: Int, reason: String)
    case noChatTemplate(path: String)
    case template(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): cannot read the dataset: \(reason)"
        case .empty(let path): "\(path): the dataset has no examples"
        case .malformed(let path, let line, let reason): "\(path):\(line): \(reason)"
        case .noChatTemplate(let path): "\(path): chat examples need a chat template, and the model has none"
        case .template(let path, let line, let reason): "\(path):\(line): chat template: \(reason)"
        }
    }
}
