import Foundation
import GraftFormats
import Testing
import GraftTestSupport

/// The renderings transformers produced for each fixture case (Scripts/make_chat_template_fixtures.py).
struct ChatTemplateFixture {
    struct Case {
        let index: Int
        let template: String
        let messages: [ChatMessage]
        let addGenerationPrompt: Bool
        let bosToken: String
        let eosToken: String
        let extra: [String: JinjaValue]
        let now: Date?
        let expected: String?
        let error: (kind: String, message: String)?
    }

    let templates: [String: String]
    let cases: [Case]

    static let shared: ChatTemplateFixture? = try? load()

    static func load() throws -> ChatTemplateFixture {
        let text = try String(contentsOfFile: Fixtures.path("chat_templates.json"), encoding: .utf8)
        guard case .object(let root) = try JinjaValue(json: text),
              case .object(let templates)? = root["templates"], case .array(let cases)? = root["cases"] else {
            throw FixtureError("chat_templates.json lacks 'templates' or 'cases'")
        }
        var sources: [String: String] = [:]
        for (name, source) in templates.entries {
            guard case .string(let s) = source else { throw FixtureError("template \(name) is not a string") }
            sources[name] = s
        }
        return ChatTemplateFixture(templates: sources, cases: try cases.enumerated().map { try parseCase($1, index: $0) })
    }

    private static func parseCase(_ value: JinjaValue, index: Int) throws -> Case {
        guard case .object(let o) = value, case .string(let template)? = o["template"], case .array(let messages)? = o["messages"],
              case .bool(let add)? = o["add_generation_prompt"], case .string(let bos)? = o["bos_token"],
              case .string(let eos)? = o["eos_token"], case .object(let extra)? = o["extra"] else {
            throw FixtureError("case \(index) is malformed")
        }
        let chat = try messages.map { m -> ChatMessage in
            guard case .object(let mo) = m, case .string(let role)? = mo["role"], case .string(let content)? = mo["content"] else {
                throw FixtureError("case \(index) has a malformed message")
            }
            return ChatMessage(role: role, content: content)
        }
        var now: Date? = nil
        if case .string(let iso)? = o["now"] { now = try naiveTime(iso) }
        var expected: String? = nil, error: (String, String)? = nil
        if case .string(let e)? = o["expected"] { expected = e }
        if case .string(let message)? = o["error"], case .string(let kind)? = o["error_kind"] { error = (kind, message) }
        return Case(index: index, template: template, messages: chat, addGenerationPrompt: add, bosToken: bos, eosToken: eos,
                    extra: Dictionary(uniqueKeysWithValues: extra.entries.map { ($0.key, $0.value) }), now: now,
                    expected: expected, error: error)
    }

    /// "2024-03-05T09:05:03.123456" read as a UTC instant (the tests format it in UTC).
    private static func naiveTime(_ iso: String) throws -> Date {
        let parts = iso.split(whereSeparator: { "-T:".contains($0) }).map(String.init)
        guard parts.count == 6, let seconds = Double(parts[5]) else { throw FixtureError("bad time \(iso)") }
        var c = DateComponents()
        (c.year, c.month, c.day, c.hour, c.minute) = (Int(parts[0]), Int(parts[1]), Int(parts[2]), Int(parts[3]), Int(parts[4]))
        c.second = Int(seconds)
        c.nanosecond = Int(((seconds - seconds.rounded(.down)) * 1_000_000).rounded()) * 1000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: c)!
    }

    struct FixtureError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static var templateNames: [String] { shared.map { Array(Set($0.cases.map(\.template))).sorted() } ?? [] }
}

@Suite struct ChatTemplateTests {
    // MARK: transformers fixtures

    @Test func fixtureLoadsAndCoversTheModelFamilies() throws {
        let fixture = try ChatTemplateFixture.load()
        let models = ["gemma-2", "llama-3.1", "llama-3.2", "mistral-nemo", "phi-3.5", "qwen2.5", "qwen3", "qwen3.5", "smollm2"]
        for model in models {
            #expect(fixture.cases.filter { $0.template == model }.count >= 14, "too few cases for \(model)")
        }
        #expect(fixture.cases.count >= 180)
        #expect(fixture.cases.contains { $0.error?.kind == "raise_exception" })
    }

    @Test(arguments: ChatTemplateFixture.templateNames)
    func rendersLikeTransformers(_ name: String) throws {
        let fixture = try #require(ChatTemplateFixture.shared)
        var template = try ChatTemplate(source: try #require(fixture.templates[name]))
        template.timeZone = TimeZone(identifier: "UTC")!
        for c in fixture.cases where c.template == name {
            if let now = c.now { template.clock = { now } }
            let label = "case \(c.index) (\(name), add_generation_prompt=\(c.addGenerationPrompt), \(c.messages.count) messages)"
            do {
                let got = try template.render(messages: c.messages, addGenerationPrompt: c.addGenerationPrompt,
                                              bosToken: c.bosToken, eosToken: c.eosToken, extraContext: c.extra)
                if let expected = c.expected {
                    // Bytes, not String ==: Swift's String equality is canonical equivalence, Python's is not.
                    #expect(got.utf8.elementsEqual(expected.utf8), "\(label): \(Self.difference(expected: expected, got: got))")
                } else {
                    Issue.record("\(label): rendered \(got.debugDescription) but transformers raised \(c.error!.kind): \(c.error!.message)")
                }
            } catch {
                let got = Self.kindAndMessage(error)
                if let expected = c.error {
                    #expect(got.kind == expected.kind && got.message == expected.message,
                            "\(label): expected \(expected.kind) \(expected.message.debugDescription), got \(got.kind) \(got.message.debugDescription)")
                } else {
                    Issue.record("\(label): failed with \(error) but transformers rendered \(c.expected!.debugDescription)")
                }
            }
        }
    }

    /// The fixture's error kinds: what Python raised ("raise_exception", "undefined", "type", "runtime").
    static func kindAndMessage(_ error: ChatTemplateError) -> (kind: String, message: String) {
        switch error {
        case .raised(let m): return ("raise_exception", m)
        case .undefined(let m, _): return ("undefined", m)
        case .type(let m, _): return ("type", m)
        case .runtime(let m, _): return ("runtime", m)
        case .unknownFilter(let n, _): return ("runtime", "No filter named '\(n)' found.")
        case .unknownTest(let n, _): return ("runtime", "No test named '\(n)' found.")
        default: return ("other", error.description)
        }
    }

    /// Where two renderings first differ, with a little context on both sides.
    static func difference(expected: String, got: String) -> String {
        let e = Array(expected.unicodeScalars), g = Array(got.unicodeScalars)
        let i = zip(e, g).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, g.count)
        let line = e[..<min(i, e.count)].filter { $0 == "\n" }.count + 1
        func window(_ s: [Unicode.Scalar]) -> String {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: s[max(0, i - 30)..<min(s.count, i + 30)])
            return String(v).debugDescription
        }
        return "first difference at scalar \(i) (line \(line)) of \(e.count) expected / \(g.count) rendered:\n"
            + "  expected …\(window(e))…\n  rendered …\(window(g))…"
    }

    // MARK: interpreter units

    func render(_ source: String, _ context: [String: JinjaValue] = [:], messages: [ChatMessage] = []) throws -> String {
        try ChatTemplate(source: source).render(messages: messages, addGenerationPrompt: false, extraContext: context)
    }

    @Test func trimBlocksAndLstripBlocks() throws {
        // A newline after a block tag is dropped; indentation before a block tag on its own line too.
        #expect(try render("{% if true %}\nyes\n{% endif %}\nafter") == "yes\nafter")
        #expect(try render("  {% if true %}\n  x\n  {% endif %}\n") == "  x\n")
        // Variables keep their indentation; a trailing template newline is dropped.
        #expect(try render("  {{ 'v' }}\n") == "  v")
        // `+` keeps what trim/lstrip would drop.
        #expect(try render("  {%+ if true +%}\nx{% endif %}") == "  \nx")
        #expect(try render("a\r\n{% if true %}\r\nb\r\n{% endif %}") == "a\nb\n")
    }

    @Test func minusModifiersAndComments() throws {
        #expect(try render("a  {%- if true -%}  b  {%- endif -%}  c") == "abc")
        #expect(try render("x {{- ' y ' -}} z") == "x y z")
        #expect(try render("a {#- note -#} b\n{# line #}\nc") == "ab\nc")
        #expect(try render("{% raw %}{{ kept }}{% endraw %}") == "{{ kept }}")
    }

    @Test func loopVariablesFiltersAndControls() throws {
        let out = try render("{% for x in xs if x != 'b' %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ x }};{% endfor %}",
                             ["xs": ["a", "b", "c"]])
        #expect(out == "10TrueFalse2a;21FalseTrue2c;")
        #expect(try render("{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% elif x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}") == "13")
        #expect(try render("{% for x in [] %}x{% else %}none{% endfor %}") == "none")
        #expect(try render("{% for k, v in d.items() %}{{ k }}={{ v }} {% endfor %}", ["d": ["b": 1, "a": [true, .null]]]) == "b=1 a=[True, None] ")
    }

    @Test func setInsideALoopIsLocalButNamespacesCarryState() throws {
        #expect(try render("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}") == "231")
        let source = "{% set ns = namespace(n=0, last='') %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set ns.last = m.role %}{% endfor %}{{ ns.n }} {{ ns.last }}"
        let messages = [ChatMessage(role: "user", content: "a"), ChatMessage(role: "assistant", content: "b")]
        #expect(try render(source, messages: messages) == "2 assistant")
        #expect(throws: ChatTemplateError.runtime("cannot assign attribute on non-namespace object", at: .init(line: 1, column: 19))) {
            try render("{% set x = 1 %}{% set x.a = 2 %}")
        }
    }

    @Test func filters() throws {
        #expect(try render("[{{ '  hi \n'|trim }}][{{ 'ab'|upper }}][{{ 'a b'|title }}][{{ [1, 2]|length }}][{{ 'é'|list }}]") == "[hi][AB][A B][2][['é']]")
        #expect(try render("{{ [1, 'a']|join(', ') }}|{{ [3, 4]|first }}{{ [3, 4]|last }}|{{ missing|default('d') }}|{{ 5|string }}") == "1, a|34|d|5")
        let users: JinjaValue = [["name": "ann", "role": "user"], ["name": "bob", "role": "bot"]]
        #expect(try render("{{ users|selectattr('role', 'equalto', 'user')|map(attribute='name')|list }}", ["users": users]) == "['ann']")
        #expect(try render("{{ users|rejectattr('role', 'equalto', 'user')|map(attribute='name')|join }}", ["users": users]) == "bob")
        #expect(try render("{{ x|tojson }}", ["x": ["b": [1, 2.5], "a": "é\n"]]) == #"{"b": [1, 2.5], "a": "é\n"}"#)
        #expect(try render("{{ x|tojson(indent=2) }}", ["x": ["k": [.null]]]) == "{\n  \"k\": [\n    null\n  ]\n}")
        // Generators, as in Jinja: no length without `| list`.
        #expect(throws: ChatTemplateError.type("object of type 'generator' has no len()", at: .init(line: 1, column: 25))) {
            try render("{{ [1, 2]|select('odd')|length }}")
        }
    }

    @Test func expressionsFollowPython() throws {
        #expect(try render("{{ 7 / 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 0.1 + 0.2 }} {{ 1 == 1.0 }} {{ 1 < 2 < 3 }}")
            == "3.5 -4 2 1024 0.30000000000000004 True True")
        #expect(try render("{{ 'ab'[::-1] }}{{ [1, 2, 3][-1] }}{{ [1, 2, 3][1:] }}{{ 'x' in 'xyz' }}{{ 0 or 'z' }}{{ none }}") == "ba3[2, 3]TruezNone")
        #expect(try render("{{ 'e\u{301}' == '\u{e9}' }} {{ 'e\u{301}'|length }}") == "False 2")   // code points, as Python
        #expect(try render("{{ x is defined }}{{ x }}{{ d.missing is defined }}{{ d.k is string }}", ["d": ["k": "v"]]) == "FalseFalseTrue")
    }

    @Test func macros() throws {
        let source = "{% macro turn(role, text, end='<|end|>') %}<{{ role }}>{{ text | trim }}{{ end }}{% endmacro %}"
            + "{% for m in messages %}{{ turn(m.role, m.content) }}{% endfor %}{{ turn('assistant', '', end='') }}"
        let messages = [ChatMessage(role: "user", content: " Hi "), ChatMessage(role: "assistant", content: "Yo")]
        #expect(try render(source, messages: messages) == "<user>Hi<|end|><assistant>Yo<|end|><assistant>")
        #expect(throws: ChatTemplateError.type("macro 'm' takes not more than 1 argument(s)", at: .init(line: 1, column: 42))) {
            try render("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}")
        }
    }

    @Test func runawayNestingFailsCleanly() throws {
        let deep = String(repeating: "(", count: 80) + "1" + String(repeating: ")", count: 80)
        #expect(throws: ChatTemplateError.syntax("blocks or expressions nested more than 100 levels deep", at: .init(line: 1, column: 54))) {
            try ChatTemplate(source: "{{ \(deep) }}")
        }
        let recursive = try ChatTemplate(source: "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        #expect(throws: ChatTemplateError.runtime("macro 'f' exceeded 64 nested macro calls", at: .init(line: 1, column: 21))) {
            try recursive.render(messages: [], addGenerationPrompt: false)
        }
    }

    @Test func undefinedValuesFailOnlyWhenUsed() throws {
        #expect(try render("[{{ nothing }}][{% for x in nothing %}x{% endfor %}][{{ nothing|length }}]") == "[][][0]")
        #expect(throws: ChatTemplateError.undefined("'nothing' is undefined", at: .init(line: 1, column: 11))) {
            try render("{{ nothing.attr }}")
        }
        #expect(throws: ChatTemplateError.undefined("'dict object' has no attribute 'a'", at: .init(line: 1, column: 7))) {
            try render("{{ d.a.b }}", ["d": [:]])
        }
    }

    @Test func raiseExceptionSurfacesTheMessage() {
        #expect(throws: ChatTemplateError.raised("roles must alternate")) {
            try render("{% if true %}{{ raise_exception('roles must alternate') }}{% endif %}")
        }
    }

    @Test func strftimeNowReadsTheClock() throws {
        var template = try ChatTemplate(source: "{{ strftime_now('%d %b %Y, %A %H:%M') }}")
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let date = utc.date(from: DateComponents(year: 2024, month: 7, day: 26, hour: 14, minute: 5))!
        template.clock = { date }
        template.timeZone = utc.timeZone
        #expect(try template.render(messages: [], addGenerationPrompt: false) == "26 Jul 2024, Friday 14:05")
    }

    @Test func renderPassesMessagesTokensAndExtraContext() throws {
        let template = try ChatTemplate(source: "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m['content'] }}{{ eos_token }}{% endfor %}"
                                        + "{% if add_generation_prompt %}>{% endif %}{{ tools is none }}{{ flag }}")
        let out = try template.render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true,
                                      bosToken: "<s>", eosToken: "</s>", extraContext: ["flag": true])
        #expect(out == "<s>user:Hi</s>>TrueTrue")
    }

    // MARK: errors at parse time

    @Test(arguments: [
        ("line1\n{{ (1 }}", ChatTemplateError.syntax("unexpected '}', expected ')'", at: .init(line: 2, column: 7))),
        ("{{ 1 + }}", .syntax("expected an expression, found '}}'", at: .init(line: 1, column: 8))),
        ("{% for x in y %}\n", .syntax("expected 'endfor' or 'else' to close the 'for' at 1:4, found end of template", at: .init(line: 1, column: 17))),
        ("{% if x %}\n  {% endfor %}", .syntax("unexpected tag 'endfor' inside the 'if' at 1:4", at: .init(line: 2, column: 6))),
        ("{{ x | nofilter }}", .unknownFilter("nofilter", at: .init(line: 1, column: 8))),
        ("{{ x is notest }}", .unknownTest("notest", at: .init(line: 1, column: 9))),
        ("ok\n  {# open", .syntax("missing end of comment tag '#}'", at: .init(line: 2, column: 3))),
        ("{{ 'abc }}", .syntax("unterminated string literal", at: .init(line: 1, column: 4))),
        ("{% break %}", .syntax("'break' outside a loop", at: .init(line: 1, column: 4))),
        ("{% call m() %}x{% endcall %}", .syntax("the 'call' tag is outside the Jinja subset Graft implements", at: .init(line: 1, column: 4))),
        ("{% macro m(a=1, b) %}{% endmacro %}", .syntax("parameter 'b' without a default follows one with a default", at: .init(line: 1, column: 18))),
        ("{% set 1 = 2 %}", .syntax("expected a name to assign to, found '1'", at: .init(line: 1, column: 8))),
        ("{{ x ! y }}", .syntax("unexpected character '!'", at: .init(line: 1, column: 6))),
    ])
    func syntaxErrorsNameLineAndColumn(_ source: String, _ expected: ChatTemplateError) {
        #expect(throws: expected) { try ChatTemplate(source: source) }
    }

    @Test func unknownFilterInsideIfFailsOnlyWhenRun() throws {
        let template = try ChatTemplate(source: "{% if flag %}{{ x|nofilter }}{% endif %}ok")
        #expect(try template.render(messages: [], addGenerationPrompt: false) == "ok")
        #expect(throws: ChatTemplateError.unknownFilter("nofilter", at: .init(line: 1, column: 19))) {
            try template.render(messages: [], addGenerationPrompt: false, extraContext: ["flag": true])
        }
    }

    // MARK: JSON values

    @Test func jsonKeepsKeyOrderAndTypes() throws {
        let v = try JinjaValue(json: #"{"z": 1, "a": [1.5, -2, true, null, "\u00e9\ud83d\ude00\n"], "m": {}}"#)
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o.keys == ["z", "a", "m"])
        #expect(o["a"] == [1.5, -2, true, .null, "é😀\n"])
        #expect(throws: ChatTemplateError.invalidJSON("expected a JSON value", offset: 6)) { try JinjaValue(json: #"{"a": }"#) }
        #expect(throws: ChatTemplateError.invalidJSON("unexpected text after the value", offset: 4)) { try JinjaValue(json: "[1] x") }
    }
}
