/// Jinja's compile-time check of filter and test names: an unknown name is an error when the
/// template is loaded, except inside an `{% if %}` (test and branches) or an inline
/// `x if c else y`, where Jinja 3 defers the error until the filter or test actually runs. Loops,
/// `{% set %}…{% endset %}`, `{% generation %}` and macro bodies start a new frame and are checked again.
enum JinjaNameCheck {
    static func check(_ nodes: [JinjaNode]) throws(ChatTemplateError) {
        for node in nodes { try check(node, soft: false) }
    }

    private static func check(_ node: JinjaNode, soft: Bool) throws(ChatTemplateError) {
        switch node {
        case .text, .loopBreak, .loopContinue:
            break
        case .output(let e):
            try check(e, soft: soft)
        case .forLoop(let loop):
            try check(loop.iterable, soft: soft)
            if let filter = loop.filter { try check(filter, soft: false) }
            for n in loop.body + loop.otherwise { try check(n, soft: false) }
        case let .conditional(branches, otherwise):
            for branch in branches {
                try check(branch.test, soft: true)
                for n in branch.body { try check(n, soft: true) }
            }
            for n in otherwise { try check(n, soft: true) }
        case let .assign(_, e, _):
            try check(e, soft: soft)
        case let .assignBlock(_, filters, body, _):
            for f in filters { try checkFilter(f, soft: false) }
            for n in body { try check(n, soft: false) }
        case .generation(let body):
            for n in body { try check(n, soft: false) }
        case .macro(let macro):
            for p in macro.parameters { if let d = p.defaultValue { try check(d, soft: soft) } }
            for n in macro.body { try check(n, soft: false) }
        }
    }

    private static func check(_ arguments: JinjaArguments, soft: Bool) throws(ChatTemplateError) {
        for e in arguments.positional { try check(e, soft: soft) }
        for k in arguments.keyword { try check(k.value, soft: soft) }
    }

    private static func checkFilter(_ call: JinjaNamedCall, soft: Bool) throws(ChatTemplateError) {
        if !soft, !JinjaFilters.names.contains(call.name) { throw .unknownFilter(call.name, at: call.location) }
        try check(call.arguments, soft: soft)
    }

    private static func check(_ e: JinjaExpression, soft: Bool) throws(ChatTemplateError) {
        switch e.kind {
        case .constant, .name:
            break
        case .list(let items), .tuple(let items), .concat(let items):
            for i in items { try check(i, soft: soft) }
        case .dict(let pairs):
            for p in pairs { try check(p.key, soft: soft); try check(p.value, soft: soft) }
        case .attribute(let target, _), .negate(let target), .plus(let target), .not(let target):
            try check(target, soft: soft)
        case let .item(target, key):
            try check(target, soft: soft); try check(key, soft: soft)
        case let .slice(target, start, stop, step):
            for part in [target, start, stop, step].compactMap({ $0 }) { try check(part, soft: soft) }
        case let .call(callee, arguments):
            try check(callee, soft: soft); try check(arguments, soft: soft)
        case let .filter(target, call):
            try check(target, soft: soft); try checkFilter(call, soft: soft)
        case let .test(target, call):
            try check(target, soft: soft)
            if !soft, !JinjaTests.names.contains(call.name) { throw .unknownTest(call.name, at: call.location) }
            try check(call.arguments, soft: soft)
        case let .binary(_, a, b), let .and(a, b), let .or(a, b):
            try check(a, soft: soft); try check(b, soft: soft)
        case let .compare(first, rest):
            try check(first, soft: soft)
            for r in rest { try check(r.operand, soft: soft) }
        case let .conditional(test, then, otherwise):
            try check(test, soft: true); try check(then, soft: true)
            if let otherwise { try check(otherwise, soft: true) }
        }
    }
}
