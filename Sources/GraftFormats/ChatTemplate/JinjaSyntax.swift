/// The syntax tree of a parsed template: the Jinja node types that chat templates use.

/// A literal in the template text.
enum JinjaConstant: Sendable {
    case none
    case bool(Bool)
    case integer(Int)
    case double(Double)
    case string(String)
}

enum JinjaBinaryOperator: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", floorDiv = "//", mod = "%", pow = "**"
}

enum JinjaCompareOperator: String, Sendable {
    case eq = "==", ne = "!=", lt = "<", lteq = "<=", gt = ">", gteq = ">=", `in` = "in", notIn = "not in"
}

/// Positional then keyword arguments of a call, filter or test.
struct JinjaArguments: Sendable {
    var positional: [JinjaExpression] = []
    var keyword: [(name: String, value: JinjaExpression)] = []
}

/// A filter (`| name(args)`) or test (`is name(args)`) applied by name; `location` is the name's.
struct JinjaNamedCall: Sendable {
    let name: String
    let arguments: JinjaArguments
    let location: TemplateLocation
}

struct JinjaExpression: Sendable {
    indirect enum Kind: Sendable {
        case constant(JinjaConstant)
        case name(String)
        case list([JinjaExpression])
        case tuple([JinjaExpression])
        case dict([(key: JinjaExpression, value: JinjaExpression)])
        /// `x.name`: attribute first, then item (Jinja's `getattr`).
        case attribute(JinjaExpression, String)
        /// `x[key]`: item first, then attribute (Jinja's `getitem`).
        case item(JinjaExpression, JinjaExpression)
        case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?)
        case call(JinjaExpression, JinjaArguments)
        case filter(JinjaExpression, JinjaNamedCall)
        case test(JinjaExpression, JinjaNamedCall)
        case negate(JinjaExpression)
        case plus(JinjaExpression)
        case binary(JinjaBinaryOperator, JinjaExpression, JinjaExpression)
        case and(JinjaExpression, JinjaExpression)
        case or(JinjaExpression, JinjaExpression)
        case not(JinjaExpression)
        /// Python's chained comparison: `a < b < c` is `a < b and b < c`.
        case compare(JinjaExpression, [(op: JinjaCompareOperator, operand: JinjaExpression)])
        /// `a ~ b ~ c`: the string forms joined.
        case concat([JinjaExpression])
        /// `then if test else otherwise`; without `else` the result is undefined when the test fails.
        case conditional(test: JinjaExpression, then: JinjaExpression, otherwise: JinjaExpression?)
    }

    let kind: Kind
    let location: TemplateLocation
}

/// What `{% set %}` and `{% for %}` assign to.
indirect enum JinjaAssignTarget: Sendable {
    case name(String)
    /// `{% set ns.attr = … %}`, allowed only on a `namespace()`.
    case namespaceAttribute(String, String)
    case tuple([JinjaAssignTarget])
}

struct JinjaForLoop: Sendable {
    let target: JinjaAssignTarget
    let iterable: JinjaExpression
    /// `{% for x in xs if cond %}`: items failing `cond` are skipped before `loop` counts them.
    let filter: JinjaExpression?
    let body: [JinjaNode]
    /// `{% else %}`: rendered when no iteration ran to the end of the body (no items, or every
    /// iteration ended in `break`/`continue` — Jinja's compiled loops behave so).
    let otherwise: [JinjaNode]
    let location: TemplateLocation
}

indirect enum JinjaNode: Sendable {
    case text(String)
    case output(JinjaExpression)
    case forLoop(JinjaForLoop)
    case conditional([(test: JinjaExpression, body: [JinjaNode])], otherwise: [JinjaNode])
    case assign(JinjaAssignTarget, JinjaExpression, TemplateLocation)
    /// `{% set x | filters %}…{% endset %}`
    case assignBlock(JinjaAssignTarget, filters: [JinjaNamedCall], body: [JinjaNode], TemplateLocation)
    case loopBreak
    case loopContinue
    /// transformers' `{% generation %}…{% endgeneration %}` (it marks assistant text for masks; it renders its body).
    case generation([JinjaNode])
    /// `{% macro name(params) %}…{% endmacro %}`: binds `name` to a function that renders the body.
    case macro(JinjaMacro)
}

struct JinjaMacro: Sendable {
    let name: String
    /// In order; a parameter without a default is undefined when the caller leaves it out.
    let parameters: [(name: String, defaultValue: JinjaExpression?)]
    let body: [JinjaNode]
    /// Whether the body reads `varargs` / `kwargs`: only then does the macro accept extra
    /// positional / keyword arguments, as Jinja decides.
    let takesVarargs: Bool
    let takesKwargs: Bool
}
