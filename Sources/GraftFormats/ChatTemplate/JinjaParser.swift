/// Builds the syntax tree from tokens with Jinja's grammar and precedence (jinja2/parser.py):
/// conditional `x if c else y` < `or` < `and` < `not` < comparisons and `in` < `+ -` < `~` <
/// `* / // %` < `**` < unary `- +` < filters `|f`, tests `is t`, calls, subscripts and attributes.
/// Filters bind tighter than binary operators: `'a' + x | trim` is `'a' + (x | trim)`.
struct JinjaParser {
    private let tokens: [JinjaToken]
    private var index = 0
    /// Blocks whose end tag is still missing, innermost last, for error messages.
    private var openBlocks: [(tag: String, location: TemplateLocation)] = []
    private var loopDepth = 0
    /// Nesting of blocks and sub-expressions; bounded so a pathological template fails with an
    /// error instead of overflowing the stack of this recursive-descent parser.
    private var depth = 0
    static let maxDepth = 100

    static func parse(_ source: String) throws(ChatTemplateError) -> [JinjaNode] {
        var parser = JinjaParser(tokens: try JinjaLexer.tokenize(source))
        let nodes = try parser.subparse(until: [])
        try JinjaNameCheck.check(nodes)
        return nodes
    }

    private init(tokens: [JinjaToken]) { self.tokens = tokens }

    private mutating func enterNested() throws(ChatTemplateError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("blocks or expressions nested more than \(Self.maxDepth) levels deep") }
    }

    // MARK: token helpers

    private var current: JinjaToken { tokens[index] }
    private var next: JinjaToken { tokens[min(index + 1, tokens.count - 1)] }

    private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    private func isName(_ value: String, _ token: JinjaToken? = nil) -> Bool {
        if case .name(let n) = (token ?? current).kind { return n == value }
        return false
    }

    private func isOp(_ op: JinjaOperator, _ token: JinjaToken? = nil) -> Bool {
        if case .op(let o) = (token ?? current).kind { return o == op }
        return false
    }

    private mutating func skip(_ op: JinjaOperator) -> Bool {
        guard isOp(op) else { return false }
        advance()
        return true
    }

    private mutating func skipName(_ value: String) -> Bool {
        guard isName(value) else { return false }
        advance()
        return true
    }

    private func fail(_ message: String, _ token: JinjaToken? = nil) -> ChatTemplateError {
        .syntax(message, at: (token ?? current).location)
    }

    private func expected(_ what: String) -> ChatTemplateError {
        fail("expected \(what), found \(Self.describe(current))")
    }

    private mutating func expect(_ op: JinjaOperator) throws(ChatTemplateError) {
        guard skip(op) else { throw expected("'\(op.rawValue)'") }
    }

    private mutating func expectName(_ value: String) throws(ChatTemplateError) {
        guard skipName(value) else { throw expected("'\(value)'") }
    }

    private mutating func expectIdentifier() throws(ChatTemplateError) -> String {
        guard case .name(let n) = current.kind else { throw expected("a name") }
        advance()
        return n
    }

    private mutating func expectBlockEnd() throws(ChatTemplateError) {
        guard current.kind == .blockEnd else { throw expected("'%}'") }
        advance()
    }

    static func describe(_ token: JinjaToken) -> String {
        switch token.kind {
        case .text: return "template text"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string \(PythonString.repr(s))"
        case .integer(let v): return "'\(v)'"
        case .float(let v): return "'\(PythonFormat.floatRepr(v))'"
        case .op(let op): return "'\(op.rawValue)'"
        case .eof: return "end of template"
        }
    }

    // MARK: statements

    private mutating func subparse(until endTags: Set<String>) throws(ChatTemplateError) -> [JinjaNode] {
        var nodes: [JinjaNode] = []
        while true {
            switch current.kind {
            case .text(let text):
                nodes.append(.text(text))
                advance()
            case .variableBegin:
                advance()
                nodes.append(.output(try parseTuple()))
                guard current.kind == .variableEnd else { throw expected("'}}'") }
                advance()
            case .blockBegin:
                advance()
                if case .name(let tag) = current.kind, endTags.contains(tag) { return nodes }
                nodes += try parseStatement()
                try expectBlockEnd()
            case .eof:
                return nodes
            default:
                throw fail("unexpected \(Self.describe(current))")
            }
        }
    }

    /// The body of a block up to one of `endTags`; leaves the end tag current unless `dropNeedle`.
    private mutating func parseBody(_ tag: String, _ location: TemplateLocation, until endTags: [String],
                                    dropNeedle: Bool = false) throws(ChatTemplateError) -> [JinjaNode] {
        try enterNested()
        defer { depth -= 1 }
        _ = skip(.colon)
        try expectBlockEnd()
        openBlocks.append((tag, location))
        let body = try subparse(until: Set(endTags))
        openBlocks.removeLast()
        if current.kind == .eof {
            let wanted = endTags.map { "'\($0)'" }.joined(separator: " or ")
            throw expected("\(wanted) to close the '\(tag)' at \(location)")
        }
        if dropNeedle { advance() }
        return body
    }

    private mutating func parseStatement() throws(ChatTemplateError) -> [JinjaNode] {
        let token = current
        guard case .name(let tag) = token.kind else { throw expected("a tag name") }
        switch tag {
        case "for": return [try parseFor()]
        case "if": return [try parseIf()]
        case "set": return [try parseSet()]
        case "print":
            advance()
            var nodes: [JinjaNode] = []
            while current.kind != .blockEnd {
                if !nodes.isEmpty { try expect(.comma) }
                nodes.append(.output(try parseExpression()))
            }
            return nodes
        case "break", "continue":
            guard loopDepth > 0 else { throw fail("'\(tag)' outside a loop") }
            advance()
            return [tag == "break" ? .loopBreak : .loopContinue]
        case "generation":
            advance()
            let savedDepth = loopDepth
            loopDepth = 0   // the body is a separate macro in Jinja: no break/continue across it
            defer { loopDepth = savedDepth }
            return [.generation(try parseBody(tag, token.location, until: ["endgeneration"], dropNeedle: true))]
        case "macro": return [try parseMacro()]
        case "call", "filter", "with", "block", "extends", "include", "import", "from", "autoescape":
            throw fail("the '\(tag)' tag is outside the Jinja subset Graft implements")
        default:
            if let open = openBlocks.last {
                throw fail("unexpected tag '\(tag)' inside the '\(open.tag)' at \(open.location)")
            }
            throw fail("unknown tag '\(tag)'")
        }
    }

    private mutating func parseFor() throws(ChatTemplateError) -> JinjaNode {
        let location = current.location
        advance()
        let target = try parseAssignTarget(extraEnd: ["in"], namespace: false)
        try expectName("in")
        let iterable = try parseTuple(conditional: false, extraEnd: ["recursive"])
        let filter = skipName("if") ? try parseExpression() : nil
        if isName("recursive") { throw fail("recursive loops are outside the Jinja subset Graft implements") }
        loopDepth += 1
        let body = try parseBody("for", location, until: ["endfor", "else"])
        loopDepth -= 1
        var otherwise: [JinjaNode] = []
        if skipName("else") { otherwise = try parseBody("for", location, until: ["endfor"], dropNeedle: true) }
        else { advance() }
        return .forLoop(JinjaForLoop(target: target, iterable: iterable, filter: filter, body: body,
                                     otherwise: otherwise, location: location))
    }

    private mutating func parseIf() throws(ChatTemplateError) -> JinjaNode {
        let location = current.location
        advance()
        var branches: [(test: JinjaExpression, body: [JinjaNode])] = []
        var otherwise: [JinjaNode] = []
        var test = try parseTuple(conditional: false)
        while true {
            let body = try parseBody("if", location, until: ["elif", "else", "endif"])
            branches.append((test, body))
            if skipName("elif") { test = try parseTuple(conditional: false); continue }
            if skipName("else") { otherwise = try parseBody("if", location, until: ["endif"], dropNeedle: true) }
            else { advance() }
            break
        }
        return .conditional(branches, otherwise: otherwise)
    }

    private mutating func parseMacro() throws(ChatTemplateError) -> JinjaNode {
        let location = current.location
        advance()
        let name = try expectIdentifier()
        try expect(.lparen)
        var parameters: [(name: String, defaultValue: JinjaExpression?)] = []
        while !isOp(.rparen) {
            if !parameters.isEmpty { try expect(.comma) }
            let parameter = try expectIdentifier()
            if skip(.assign) {
                parameters.append((parameter, try parseExpression()))
            } else {
                guard parameters.allSatisfy({ $0.defaultValue == nil }) else {
                    throw fail("parameter '\(parameter)' without a default follows one with a default")
                }
                parameters.append((parameter, nil))
            }
        }
        try expect(.rparen)
        let savedDepth = loopDepth
        loopDepth = 0   // a macro body is a function: no break/continue across it
        defer { loopDepth = savedDepth }
        let body = try parseBody("macro", location, until: ["endmacro"], dropNeedle: true)
        let reads = JinjaNameScan.names(readIn: body)
        return .macro(JinjaMacro(name: name, parameters: parameters, body: body,
                                 takesVarargs: reads.contains("varargs"), takesKwargs: reads.contains("kwargs")))
    }

    private mutating func parseSet() throws(ChatTemplateError) -> JinjaNode {
        let location = current.location
        advance()
        let target = try parseAssignTarget(extraEnd: [], namespace: true)
        if skip(.assign) { return .assign(target, try parseTuple(), location) }
        let filters = try parseFilterChain()
        let body = try parseBody("set", location, until: ["endset"], dropNeedle: true)
        return .assignBlock(target, filters: filters, body: body, location)
    }

    /// Names, `ns.attr` (with `namespace`) and comma-separated or parenthesised tuples of them.
    private mutating func parseAssignTarget(extraEnd: Set<String>, namespace: Bool) throws(ChatTemplateError) -> JinjaAssignTarget {
        var items: [JinjaAssignTarget] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expect(.comma) }
            if isTupleEnd(extraEnd) { break }
            items.append(try parseAssignElement(namespace: namespace))
            guard isOp(.comma) else { break }
            isTuple = true
        }
        if isTuple { return .tuple(items) }
        guard let only = items.first else { throw expected("a name to assign to") }
        return only
    }

    private mutating func parseAssignElement(namespace: Bool) throws(ChatTemplateError) -> JinjaAssignTarget {
        if skip(.lparen) {
            let inner = try parseAssignTarget(extraEnd: [], namespace: namespace)
            try expect(.rparen)
            return inner
        }
        guard case .name(let name) = current.kind else { throw expected("a name to assign to") }
        if ["true", "false", "True", "False", "none", "None"].contains(name) { throw fail("cannot assign to the constant '\(name)'") }
        advance()
        if namespace, skip(.dot) { return .namespaceAttribute(name, try expectIdentifier()) }
        return .name(name)
    }

    private func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .op(.rparen): return true
        case .name(let n): return extraEnd.contains(n)
        default: return false
        }
    }

    // MARK: expressions

    /// Expressions separated by commas; more than one (or a trailing comma) makes a tuple.
    private mutating func parseTuple(conditional: Bool = true, extraEnd: Set<String> = [],
                                     explicitParentheses: Bool = false) throws(ChatTemplateError) -> JinjaExpression {
        let location = current.location
        var items: [JinjaExpression] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expect(.comma) }
            if isTupleEnd(extraEnd) { break }
            items.append(conditional ? try parseExpression() : try parseOr())
            guard isOp(.comma) else { break }
            isTuple = true
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw expected("an expression") }
        }
        return JinjaExpression(kind: .tuple(items), location: location)
    }

    private mutating func parseExpression() throws(ChatTemplateError) -> JinjaExpression {
        try enterNested()
        defer { depth -= 1 }
        var expression = try parseOr()
        while isName("if") {
            let location = current.location
            advance()
            let test = try parseOr()
            let otherwise = skipName("else") ? try parseExpression() : nil
            expression = JinjaExpression(kind: .conditional(test: test, then: expression, otherwise: otherwise), location: location)
        }
        return expression
    }

    private mutating func parseOr() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parseAnd()
        while isName("or") {
            let location = current.location
            advance()
            left = JinjaExpression(kind: .or(left, try parseAnd()), location: location)
        }
        return left
    }

    private mutating func parseAnd() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parseNot()
        while isName("and") {
            let location = current.location
            advance()
            left = JinjaExpression(kind: .and(left, try parseNot()), location: location)
        }
        return left
    }

    private mutating func parseNot() throws(ChatTemplateError) -> JinjaExpression {
        guard isName("not") else { return try parseCompare() }
        try enterNested()
        defer { depth -= 1 }
        let location = current.location
        advance()
        return JinjaExpression(kind: .not(try parseNot()), location: location)
    }

    private mutating func parseCompare() throws(ChatTemplateError) -> JinjaExpression {
        let first = try parseMath1()
        var operands: [(op: JinjaCompareOperator, operand: JinjaExpression)] = []
        while true {
            let op: JinjaCompareOperator
            switch current.kind {
            case .op(.eq): op = .eq
            case .op(.ne): op = .ne
            case .op(.lt): op = .lt
            case .op(.lteq): op = .lteq
            case .op(.gt): op = .gt
            case .op(.gteq): op = .gteq
            case .name("in"): op = .in
            case .name("not") where isName("in", next): op = .notIn; advance()
            default:
                return operands.isEmpty ? first : JinjaExpression(kind: .compare(first, operands), location: first.location)
            }
            advance()
            operands.append((op, try parseMath1()))
        }
    }

    private static let additive: [JinjaOperator: JinjaBinaryOperator] = [.add: .add, .sub: .sub]
    private static let multiplicative: [JinjaOperator: JinjaBinaryOperator] = [.mul: .mul, .div: .div, .floorDiv: .floorDiv, .mod: .mod]

    private mutating func parseMath1() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parseConcat()
        while case .op(let o) = current.kind, let op = Self.additive[o] {
            let location = current.location
            advance()
            left = JinjaExpression(kind: .binary(op, left, try parseConcat()), location: location)
        }
        return left
    }

    private mutating func parseConcat() throws(ChatTemplateError) -> JinjaExpression {
        let first = try parseMath2()
        guard isOp(.tilde) else { return first }
        let location = current.location
        var parts = [first]
        while skip(.tilde) { parts.append(try parseMath2()) }
        return JinjaExpression(kind: .concat(parts), location: location)
    }

    private mutating func parseMath2() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parsePow()
        while case .op(let o) = current.kind, let op = Self.multiplicative[o] {
            let location = current.location
            advance()
            left = JinjaExpression(kind: .binary(op, left, try parsePow()), location: location)
        }
        return left
    }

    private mutating func parsePow() throws(ChatTemplateError) -> JinjaExpression {
        var left = try parseUnary()
        while isOp(.pow) {
            let location = current.location
            advance()
            left = JinjaExpression(kind: .binary(.pow, left, try parseUnary()), location: location)
        }
        return left
    }

    private mutating func parseUnary(withFilters: Bool = true) throws(ChatTemplateError) -> JinjaExpression {
        try enterNested()
        defer { depth -= 1 }
        let location = current.location
        var node: JinjaExpression
        if skip(.sub) { node = JinjaExpression(kind: .negate(try parseUnary(withFilters: false)), location: location) }
        else if skip(.add) { node = JinjaExpression(kind: .plus(try parseUnary(withFilters: false)), location: location) }
        else { node = try parsePrimary() }
        node = try parsePostfix(node)
        return withFilters ? try parseFilterExpression(node) : node
    }

    private mutating func parsePrimary() throws(ChatTemplateError) -> JinjaExpression {
        let token = current
        let kind: JinjaExpression.Kind
        switch token.kind {
        case .name(let name):
            advance()
            switch name {
            case "true", "True": kind = .constant(.bool(true))
            case "false", "False": kind = .constant(.bool(false))
            case "none", "None": kind = .constant(.none)
            default: kind = .name(name)
            }
        case .string(var text):
            advance()
            while case .string(let more) = current.kind { text += more; advance() }   // 'a' 'b' is 'ab'
            kind = .constant(.string(text))
        case .integer(let v): advance(); kind = .constant(.integer(v))
        case .float(let v): advance(); kind = .constant(.double(v))
        case .op(.lparen):
            advance()
            let inner = try parseTuple(explicitParentheses: true)
            try expect(.rparen)
            return inner
        case .op(.lbracket):
            advance()
            var items: [JinjaExpression] = []
            while !isOp(.rbracket) {
                if !items.isEmpty { try expect(.comma) }
                if isOp(.rbracket) { break }
                items.append(try parseExpression())
            }
            try expect(.rbracket)
            kind = .list(items)
        case .op(.lbrace):
            advance()
            var items: [(key: JinjaExpression, value: JinjaExpression)] = []
            while !isOp(.rbrace) {
                if !items.isEmpty { try expect(.comma) }
                if isOp(.rbrace) { break }
                let key = try parseExpression()
                try expect(.colon)
                items.append((key, try parseExpression()))
            }
            try expect(.rbrace)
            kind = .dict(items)
        default:
            throw expected("an expression")
        }
        return JinjaExpression(kind: kind, location: token.location)
    }

    private mutating func parsePostfix(_ start: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        var node = start
        while true {
            if isOp(.dot) || isOp(.lbracket) { node = try parseSubscript(node) }
            else if isOp(.lparen) { node = try parseCall(node) }
            else { return node }
        }
    }

    private mutating func parseFilterExpression(_ start: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        var node = start
        while true {
            if isOp(.pipe) {
                for filter in try parseFilterChain() {
                    node = JinjaExpression(kind: .filter(node, filter), location: filter.location)
                }
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOp(.lparen) {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ target: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        let location = current.location
        if skip(.dot) {
            switch current.kind {
            case .name(let name):
                advance()
                return JinjaExpression(kind: .attribute(target, name), location: location)
            case .integer(let i):
                advance()
                return JinjaExpression(kind: .item(target, JinjaExpression(kind: .constant(.integer(i)), location: location)), location: location)
            default:
                throw expected("a name or number after '.'")
            }
        }
        try expect(.lbracket)
        var start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?
        var isSlice = false
        if !isOp(.colon) { start = try parseExpression() }
        if skip(.colon) {
            isSlice = true
            if !isOp(.rbracket), !isOp(.colon) { stop = try parseExpression() }
            if skip(.colon), !isOp(.rbracket) { step = try parseExpression() }
        }
        if isOp(.comma) { throw fail("multi-dimensional subscripts are outside the Jinja subset Graft implements") }
        try expect(.rbracket)
        if isSlice { return JinjaExpression(kind: .slice(target, start: start, stop: stop, step: step), location: location) }
        guard let key = start else { throw expected("a subscript") }
        return JinjaExpression(kind: .item(target, key), location: location)
    }

    private mutating func parseCall(_ callee: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        let location = current.location
        return JinjaExpression(kind: .call(callee, try parseArguments()), location: location)
    }

    private mutating func parseArguments() throws(ChatTemplateError) -> JinjaArguments {
        try expect(.lparen)
        var arguments = JinjaArguments()
        while !isOp(.rparen) {
            if !arguments.positional.isEmpty || !arguments.keyword.isEmpty {
                try expect(.comma)
                if isOp(.rparen) { break }
            }
            if isOp(.mul) || isOp(.pow) { throw fail("*args and **kwargs are outside the Jinja subset Graft implements") }
            if case .name(let name) = current.kind, isOp(.assign, next) {
                advance(); advance()
                arguments.keyword.append((name, try parseExpression()))
            } else {
                guard arguments.keyword.isEmpty else { throw fail("positional argument after a keyword argument") }
                arguments.positional.append(try parseExpression())
            }
        }
        try expect(.rparen)
        return arguments
    }

    private mutating func parseDottedName() throws(ChatTemplateError) -> String {
        var name = try expectIdentifier()
        while skip(.dot) { name += "." + (try expectIdentifier()) }
        return name
    }

    /// `| f | g(args)`: zero or more filters.
    private mutating func parseFilterChain() throws(ChatTemplateError) -> [JinjaNamedCall] {
        var filters: [JinjaNamedCall] = []
        while skip(.pipe) {
            let location = current.location
            let name = try parseDottedName()
            let arguments = isOp(.lparen) ? try parseArguments() : JinjaArguments()
            filters.append(JinjaNamedCall(name: name, arguments: arguments, location: location))
        }
        return filters
    }

    /// `is [not] name`, with arguments in parentheses or one bare argument (`is divisibleby 3`).
    private mutating func parseTest(_ subject: JinjaExpression) throws(ChatTemplateError) -> JinjaExpression {
        let isLocation = current.location
        advance()
        let negated = skipName("not")
        let location = current.location
        let name = try parseDottedName()
        var arguments = JinjaArguments()
        if isOp(.lparen) {
            arguments = try parseArguments()
        } else {
            let startsArgument: Bool
            switch current.kind {
            case .name(let n): startsArgument = !["else", "or", "and"].contains(n)
            case .string, .integer, .float, .op(.lbracket), .op(.lbrace): startsArgument = true
            default: startsArgument = false
            }
            if startsArgument {
                if isName("is") { throw fail("tests cannot be chained with 'is'") }
                arguments.positional = [try parsePostfix(try parsePrimary())]
            }
        }
        let test = JinjaExpression(kind: .test(subject, JinjaNamedCall(name: name, arguments: arguments, location: location)), location: location)
        return negated ? JinjaExpression(kind: .not(test), location: isLocation) : test
    }
}
