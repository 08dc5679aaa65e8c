import Foundation

/// Renders a parsed template against a context, with Jinja's runtime rules:
///
/// - names resolve through the loop scopes, then the render context, then the globals; a name
///   found nowhere is undefined (prints as "", fails on use);
/// - each loop iteration gets a fresh scope, so `{% set %}` inside a loop body does not outlive
///   the iteration (templates carry state out of loops with `namespace()`);
/// - `and`/`or` return one of their operands, comparisons chain like Python's.
struct JinjaInterpreter {
    private var scopes: [[String: TemplateValue]]
    private let globals: JinjaGlobals
    private let lenientSlices: Set<TemplateLocation>
    /// Evaluating as Jinja's compile-time `as_const`: no names, no calls, nothing that needs the
    /// render context; any failure means "not a constant".
    private let folding: Bool
    /// How many macro calls enclose this render; bounded so a runaway recursive macro fails
    /// cleanly instead of exhausting the stack (Python raises RecursionError there).
    private let macroDepth: Int
    static let maxMacroDepth = 64
    private var output = ""

    init(context: [String: TemplateValue], globals: JinjaGlobals, lenientSlices: Set<TemplateLocation>) {
        self.init(scopes: [context], globals: globals, lenientSlices: lenientSlices, folding: false, macroDepth: 0)
    }

    private init(scopes: [[String: TemplateValue]], globals: JinjaGlobals, lenientSlices: Set<TemplateLocation>,
                 folding: Bool, macroDepth: Int) {
        self.scopes = scopes
        self.globals = globals
        self.lenientSlices = lenientSlices
        self.folding = folding
        self.macroDepth = macroDepth
    }

    /// The value Jinja's optimizer computes for `e` at compile time, or nil when it cannot
    /// (`e` reads a variable, calls a function, uses a filter that needs the context, or fails).
    static func foldConstant(_ e: JinjaExpression) -> TemplateValue? {
        try? JinjaInterpreter(scopes: [[:]], globals: foldingGlobals, lenientSlices: [], folding: true, macroDepth: 0).evaluate(e)
    }

    /// Never called while folding (calls are not constants); only there to fill the field.
    private static let foldingGlobals = JinjaGlobals(now: Date(timeIntervalSince1970: 0), timeZone: TimeZone(secondsFromGMT: 0)!)

    /// Filters Jinja marks `pass_context`, which it never folds.
    private static let contextFilters: Set<String> = ["select", "reject", "selectattr", "rejectattr", "map"]

    private func notConstant(_ e: JinjaExpression) -> ChatTemplateError { .unsupported("not a constant", at: e.location) }

    mutating func render(_ nodes: [JinjaNode]) throws(ChatTemplateError) -> String {
        output = ""
        _ = try execute(nodes)
        return output
    }

    // MARK: statements

    private enum Flow { case normal, breakLoop, continueLoop }

    private mutating func execute(_ nodes: [JinjaNode]) throws(ChatTemplateError) -> Flow {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .output(let e):
                output += PythonFormat.str(try evaluate(e))
            case .forLoop(let loop):
                try run(loop)
            case let .conditional(branches, otherwise):
                var body = otherwise
                for branch in branches {
                    if try evaluate(branch.test).isTruthy { body = branch.body; break }
                }
                let flow = try execute(body)
                if flow != .normal { return flow }
            case let .assign(target, e, location):
                try bind(target, try evaluate(e), at: location)
            case let .assignBlock(target, filters, body, location):
                var value = TemplateValue.string(try capture(body))
                for filter in filters { value = try apply(filter, to: value) }
                try bind(target, value, at: location)
            case .loopBreak:
                return .breakLoop
            case .loopContinue:
                return .continueLoop
            case .generation(let body):
                scopes.append([:])
                _ = try execute(body)
                scopes.removeLast()
            case .macro(let macro):
                let closure = TemplateMacro(definition: macro, enclosingScopes: Array(scopes.dropFirst()))
                scopes[scopes.count - 1][macro.name] = .function(.macro(closure))
            }
        }
        return .normal
    }

    /// Renders `body` in its own scope and returns the text instead of emitting it.
    private mutating func capture(_ body: [JinjaNode]) throws(ChatTemplateError) -> String {
        let saved = output
        output = ""
        scopes.append([:])
        _ = try execute(body)
        scopes.removeLast()
        let text = output
        output = saved
        return text
    }

    private mutating func run(_ loop: JinjaForLoop) throws(ChatTemplateError) {
        let iterable = try evaluate(loop.iterable)
        var items = try at(loop.iterable.location) { () throws(EvalError) in try TemplateAccess.iterate(iterable) }
        if let filter = loop.filter {
            var kept: [TemplateValue] = []
            for item in items {
                scopes.append([:])
                try bind(loop.target, item, at: loop.location)
                if try evaluate(filter).isTruthy { kept.append(item) }
                scopes.removeLast()
            }
            items = kept
        }
        // Jinja clears its "no iteration" flag at the end of the loop body, so an iteration cut
        // short by break or continue does not count: `{% else %}` runs unless one iteration
        // reached the end of the body.
        var completedIteration = false
        for (index, item) in items.enumerated() {
            scopes.append(["loop": Self.loopVariable(index, items)])
            try bind(loop.target, item, at: loop.location)
            let flow = try execute(loop.body)
            scopes.removeLast()
            if flow == .breakLoop { break }
            if flow == .normal { completedIteration = true }
        }
        if !completedIteration, !loop.otherwise.isEmpty {
            scopes.append([:])
            _ = try execute(loop.otherwise)
            scopes.removeLast()
        }
    }

    /// Jinja's `loop` object for one iteration.
    private static func loopVariable(_ i: Int, _ items: [TemplateValue]) -> TemplateValue {
        let n = items.count
        var loop = OrderedDict<TemplateValue>([
            ("index", .int(i + 1)), ("index0", .int(i)), ("revindex", .int(n - i)), ("revindex0", .int(n - i - 1)),
            ("first", .bool(i == 0)), ("last", .bool(i == n - 1)), ("length", .int(n)), ("depth", .int(1)), ("depth0", .int(0)),
        ])
        loop["previtem"] = i > 0 ? items[i - 1] : .undefined("there is no previous item")
        loop["nextitem"] = i < n - 1 ? items[i + 1] : .undefined("there is no next item")
        return .dict(loop)
    }

    private mutating func bind(_ target: JinjaAssignTarget, _ value: TemplateValue, at location: TemplateLocation) throws(ChatTemplateError) {
        switch target {
        case .name(let name):
            scopes[scopes.count - 1][name] = value
        case let .namespaceAttribute(name, attribute):
            guard case .namespace(let namespace)? = lookup(name) else {
                throw .runtime("cannot assign attribute on non-namespace object", at: location)
            }
            guard !attribute.hasPrefix("_") else {
                throw .type("Chat templates cannot store underscore-prefixed attributes on a namespace, but got \(PythonString.repr(attribute)). Please rename the attribute.", at: location)
            }
            namespace.attributes[attribute] = value
        case .tuple(let targets):
            let items = try at(location) { () throws(EvalError) in try TemplateAccess.iterate(value) }
            guard items.count == targets.count else {
                throw .type(items.count > targets.count ? "too many values to unpack (expected \(targets.count))"
                            : "not enough values to unpack (expected \(targets.count), got \(items.count))", at: location)
            }
            for (t, v) in zip(targets, items) { try bind(t, v, at: location) }
        }
    }

    private func lookup(_ name: String) -> TemplateValue? {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return JinjaGlobals.names.contains(name) ? .function(.global(name)) : nil
    }

    // MARK: expressions

    /// Runs a value operation and places its failure at `location` in the template.
    private func at<T>(_ location: TemplateLocation, _ body: () throws(EvalError) -> T) throws(ChatTemplateError) -> T {
        do { return try body() } catch { throw error.located(at: location) }
    }

    private func evaluate(_ e: JinjaExpression) throws(ChatTemplateError) -> TemplateValue {
        switch e.kind {
        case .constant(let c):
            switch c {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .integer(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let s): return .string(s)
            }
        case .name(let name):
            if folding { throw notConstant(e) }
            return lookup(name) ?? .undefined("'\(name)' is undefined")
        case .list(let items):
            return .list(try items.map { item throws(ChatTemplateError) in try evaluate(item) })
        case .tuple(let items):
            return .tuple(try items.map { item throws(ChatTemplateError) in try evaluate(item) })
        case .dict(let pairs):
            var d = OrderedDict<TemplateValue>()
            for pair in pairs {
                guard case .string(let key) = try evaluate(pair.key) else {
                    throw .unsupported("dict keys other than strings", at: pair.key.location)
                }
                d[key] = try evaluate(pair.value)
            }
            return .dict(d)
        case let .attribute(target, name):
            let object = try evaluate(target)
            return try at(e.location) { () throws(EvalError) in try TemplateAccess.attribute(object, name) }
        case let .item(target, key):
            let (object, k) = (try evaluate(target), try evaluate(key))
            return try at(e.location) { () throws(EvalError) in try TemplateAccess.item(object, k) }
        case let .slice(target, start, stop, step):
            let object = try evaluate(target)
            let bounds = try [start, stop, step].map { part throws(ChatTemplateError) in try part.map { p throws(ChatTemplateError) in try evaluate(p) } }
            let lenient = folding || lenientSlices.contains(e.location)
            return try at(e.location) { () throws(EvalError) in try TemplateAccess.slice(object, bounds[0], bounds[1], bounds[2], lenient: lenient) }
        case let .call(callee, arguments):
            if folding { throw notConstant(e) }
            let function = try evaluate(callee)
            let args = try evaluate(arguments)
            if case .function(.macro(let macro)) = function { return try call(macro, args, at: e.location) }
            return try at(e.location) { () throws(EvalError) in try call(function, args) }
        case let .filter(target, filter):
            if folding, Self.contextFilters.contains(filter.name) { throw notConstant(e) }
            return try apply(filter, to: try evaluate(target))
        case let .test(target, test):
            let subject = try evaluate(target)
            let args = try evaluate(test.arguments)
            return .bool(try at(test.location) { () throws(EvalError) in try JinjaTests.apply(test.name, subject, args) })
        case .negate(let x):
            let v = try evaluate(x)
            return try at(e.location) { () throws(EvalError) in try TemplateOperations.negate(v) }
        case .plus(let x):
            let v = try evaluate(x)
            return try at(e.location) { () throws(EvalError) in try TemplateOperations.plus(v) }
        case let .binary(op, a, b):
            let (x, y) = (try evaluate(a), try evaluate(b))
            return try at(e.location) { () throws(EvalError) in try TemplateOperations.binary(op, x, y) }
        case let .and(a, b):
            let left = try evaluate(a)
            return left.isTruthy ? try evaluate(b) : left
        case let .or(a, b):
            let left = try evaluate(a)
            return left.isTruthy ? left : try evaluate(b)
        case .not(let x):
            return .bool(!(try evaluate(x).isTruthy))
        case let .compare(first, rest):
            var left = try evaluate(first)
            for (op, operand) in rest {
                let right = try evaluate(operand)
                let holds = try at(operand.location) { () throws(EvalError) in try Self.compare(op, left, right) }
                if !holds { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let parts):
            return .string(try parts.map { p throws(ChatTemplateError) in PythonFormat.str(try evaluate(p)) }.joined())
        case let .conditional(test, then, otherwise):
            if try evaluate(test).isTruthy { return try evaluate(then) }
            if let otherwise { return try evaluate(otherwise) }
            if folding { throw notConstant(e) }
            return .undefined("the inline if-expression on line \(e.location.line) evaluated to false and no else section was defined.")
        }
    }

    private func evaluate(_ arguments: JinjaArguments) throws(ChatTemplateError) -> CallArguments {
        CallArguments(
            positional: try arguments.positional.map { a throws(ChatTemplateError) in try evaluate(a) },
            keyword: try arguments.keyword.map { k throws(ChatTemplateError) in (k.name, try evaluate(k.value)) })
    }

    private func apply(_ filter: JinjaNamedCall, to value: TemplateValue) throws(ChatTemplateError) -> TemplateValue {
        let args = try evaluate(filter.arguments)
        return try at(filter.location) { () throws(EvalError) in try JinjaFilters.apply(filter.name, value, args) }
    }

    private static func compare(_ op: JinjaCompareOperator, _ a: TemplateValue, _ b: TemplateValue) throws(EvalError) -> Bool {
        switch op {
        case .eq: return TemplateOperations.equal(a, b)
        case .ne: return !TemplateOperations.equal(a, b)
        case .in: return try TemplateOperations.contains(b, a)
        case .notIn: return !(try TemplateOperations.contains(b, a))
        case .lt, .lteq, .gt, .gteq: return try TemplateOperations.order(op, a, b)
        }
    }

    /// Renders a macro's body with its parameters bound, in the template's top-level scope as it
    /// is now plus the scopes the macro was defined in; returns the text (Jinja's macro result).
    private func call(_ macro: TemplateMacro, _ args: CallArguments, at location: TemplateLocation) throws(ChatTemplateError) -> TemplateValue {
        let definition = macro.definition
        let name = PythonString.repr(definition.name)
        let parameters = definition.parameters
        if args.positional.count > parameters.count, !definition.takesVarargs {
            throw .type("macro \(name) takes not more than \(parameters.count) argument(s)", at: location)
        }
        var given: [String: TemplateValue] = [:]
        for (i, value) in args.positional.prefix(parameters.count).enumerated() { given[parameters[i].name] = value }
        var extraKeywords = OrderedDict<TemplateValue>()
        for (key, value) in args.keyword {
            if parameters.contains(where: { $0.name == key }) {
                guard given[key] == nil else { throw .type("macro \(name) got multiple values for argument '\(key)'", at: location) }
                given[key] = value
            } else if definition.takesKwargs {
                extraKeywords[key] = value
            } else {
                throw .type("macro \(name) takes no keyword argument '\(key)'", at: location)
            }
        }
        guard macroDepth < Self.maxMacroDepth else {
            throw .runtime("macro \(name) exceeded \(Self.maxMacroDepth) nested macro calls", at: location)
        }
        var interpreter = JinjaInterpreter(scopes: [scopes[0]] + macro.enclosingScopes + [[:]], globals: globals,
                                           lenientSlices: lenientSlices, folding: false, macroDepth: macroDepth + 1)
        for parameter in parameters {
            // Defaults are evaluated in the macro's frame, after the parameters before them.
            var value = given[parameter.name] ?? .undefined("parameter '\(parameter.name)' was not provided")
            if given[parameter.name] == nil, let defaultValue = parameter.defaultValue { value = try interpreter.evaluate(defaultValue) }
            interpreter.scopes[interpreter.scopes.count - 1][parameter.name] = value
        }
        if definition.takesVarargs { interpreter.scopes[interpreter.scopes.count - 1]["varargs"] = .tuple(Array(args.positional.dropFirst(parameters.count))) }
        if definition.takesKwargs { interpreter.scopes[interpreter.scopes.count - 1]["kwargs"] = .dict(extraKeywords) }
        return .string(try interpreter.render(definition.body))
    }

    private func call(_ function: TemplateValue, _ args: CallArguments) throws(EvalError) -> TemplateValue {
        switch function {
        case .function(.global(let name)): return try globals.call(name, args)
        case let .function(.method(receiver, name)): return try JinjaMethods.call(receiver, name, args)
        case .undefined(let message): throw .undefined(message)
        default: throw .type("'\(function.typeName)' object is not callable")
        }
    }
}
