/// A string-keyed dictionary that keeps insertion order, as Python's dict does. Keys compare by
/// Unicode scalars (Python's string equality). Lookups scan the keys: template dicts are small
/// (a message, a tool schema), and order matters more than asymptotics here.
struct OrderedDict<Value> {
    private(set) var keys: [String] = []
    private(set) var values: [Value] = []

    init() {}

    init<S: Sequence>(_ pairs: S) where S.Element == (String, Value) {
        for (key, value) in pairs { self[key] = value }
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }
    var pairs: Zip2Sequence<[String], [Value]> { zip(keys, values) }

    func index(of key: String) -> Int? { keys.firstIndex { $0.unicodeScalars.elementsEqual(key.unicodeScalars) } }

    /// Setting an existing key keeps its position; setting nil removes it.
    subscript(key: String) -> Value? {
        get { index(of: key).map { values[$0] } }
        set {
            switch (index(of: key), newValue) {
            case let (i?, value?): values[i] = value
            case let (i?, nil): keys.remove(at: i); values.remove(at: i)
            case let (nil, value?): keys.append(key); values.append(value)
            case (nil, nil): break
            }
        }
    }
}

extension OrderedDict: Sendable where Value: Sendable {}
