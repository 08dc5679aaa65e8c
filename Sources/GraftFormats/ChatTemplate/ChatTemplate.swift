import Foundation

/// One turn of a conversation, as transformers passes it to a chat template: `{"role": …, "content": …}`.
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A model's chat template (`tokenizer.chat_template` in a GGUF, `chat_template` in
/// tokenizer_config.json), rendered the way transformers' `apply_chat_template(tokenize=False)`
/// renders it, byte for byte. Training data must be formatted with the same template and flags
/// the model will see at inference, so Graft runs the model's own template rather than a
/// hand-written copy of its format.
///
/// The template is parsed once; rendering is a pure function of the messages, the context and the
/// clock (`strftime_now`). Jinja runs with transformers' settings: `trim_blocks`, `lstrip_blocks`,
/// loop controls, the globals `raise_exception`, `strftime_now`, `namespace`, `dict`, `range`,
/// and its `tojson`; values follow Python's semantics (see `TemplateValue`).
///
/// Implemented: `if`/`elif`/`else`, `for` (filtered, `else`, `loop.*`, `break`/`continue`), `set`
/// (also `ns.attr` and block form), `macro`, `print`, `raw`, `generation`, comments and whitespace
/// control; Jinja's expressions, tests, the filters in `JinjaFilters.names` and the common `str`,
/// `dict` and `list` methods. Not implemented, each failing with an error that names it:
/// `call`/`filter`/`include`/`import`/`extends` tags, recursive loops, `|safe` (Jinja's Markup
/// escaping), printf-style `'…' % x`, `str.format`, and dict literals with non-string keys.
public struct ChatTemplate: Sendable {
    public let source: String
    private let nodes: [JinjaNode]
    private let lenientSlices: Set<TemplateLocation>

    /// The time `strftime_now(format)` formats (Llama 3 templates print today's date). The system
    /// clock by default; pin it, or pass `date_string` in `extraContext`, for reproducible output.
    public var clock: @Sendable () -> Date = { Date() }
    /// The zone `strftime_now` formats in; Python's `datetime.now()` is local time.
    public var timeZone: TimeZone = .current

    /// Parses `source`; syntax errors and unknown filters or tests are reported here, with their line and column.
    public init(source: String) throws(ChatTemplateError) {
        self.source = source
        nodes = try JinjaParser.parse(source)
        lenientSlices = JinjaConstantFolding.lenientSlices(in: nodes)
    }

    /// Renders like transformers' `apply_chat_template(messages, tokenize=False, add_generation_prompt:)`.
    ///
    /// The template sees `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools` and
    /// `documents` (both `none` unless given), and every entry of `extraContext` (`tools`,
    /// `date_string`, `enable_thinking`, …), which may also replace the special tokens, as
    /// transformers' keyword arguments do. `messages` and `add_generation_prompt` always come from
    /// the parameters.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String = "", eosToken: String = "",
                       extraContext: [String: JinjaValue] = [:]) throws(ChatTemplateError) -> String {
        var context: [String: TemplateValue] = [
            "bos_token": .string(bosToken), "eos_token": .string(eosToken), "tools": .none, "documents": .none,
        ]
        for (key, value) in extraContext { context[key] = TemplateValue(value) }
        context["messages"] = .list(messages.map { .dict(OrderedDict([("role", .string($0.role)), ("content", .string($0.content))])) })
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        var interpreter = JinjaInterpreter(context: context, globals: JinjaGlobals(now: clock(), timeZone: timeZone),
                                           lenientSlices: lenientSlices)
        return try interpreter.render(nodes)
    }
}
