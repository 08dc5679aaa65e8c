#!/usr/bin/env python3
"""Reference renderings of chat templates, made by transformers' own renderer (not by Graft).

Writes Tests/Fixtures/chat_templates.json:

    {"generator": {...versions...},
     "templates": {name: template text},
     "cases": [{"template", "messages", "add_generation_prompt", "bos_token", "eos_token", "extra",
                optional "now", then "expected" or "error" + "error_kind"}]}

Every case goes through `transformers.utils.chat_template_utils.render_jinja_template`, the function
`tokenizer.apply_chat_template(..., tokenize=False)` calls, with the family's real special tokens.
"extra" holds the other keyword arguments (`tools`, `date_string`, `enable_thinking`, ...).
"now" pins the clock `strftime_now` reads (a naive local time, as `datetime.now()` returns); it is
the only thing patched, because that global reads the wall clock. Errors are recorded with the
message Python raised: "raise_exception" (the template's `raise_exception(msg)`), "undefined"
(jinja2's UndefinedError), "runtime" (jinja2's TemplateRuntimeError) or "type" (Python's TypeError,
ValueError or ArithmeticError from an operation on values).

Templates come from Tests/Fixtures/chat_templates/*.jinja:
  smollm2       `tokenizer.chat_template` of models/SmolLM2-135M-Instruct.Q4_1.gguf (checked below
                when the model and the `gguf` package are present)
  qwen2.5       llama.cpp models/templates/Qwen-Qwen2.5-7B-Instruct.jinja
  qwen3         llama.cpp models/templates/Qwen-Qwen3-0.6B.jinja
  qwen3.5       llama.cpp models/templates/Qwen3.5-4B.jinja (macros, namespaces, multimodal content checks)
  llama-3.1     llama.cpp models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja
  llama-3.2     llama.cpp models/templates/meta-llama-Llama-3.2-3B-Instruct.jinja
  mistral-nemo  llama.cpp models/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja
  phi-3.5       llama.cpp models/templates/microsoft-Phi-3.5-mini-instruct.jinja
  gemma-2       llama.cpp models/templates/google-gemma-2-2b-it.jinja
(llama.cpp copies them verbatim from the Hugging Face repos with scripts/get_chat_template.py.)
Small "snippet/..." templates below pin down single Jinja rules (whitespace control, scoping,
filters, Python formatting) that the model templates touch only in passing.

Run: $(Scripts/reference-env.sh) Scripts/make_chat_template_fixtures.py
"""
import datetime
import json
import pathlib

import jinja2
import transformers
from transformers.utils.chat_template_utils import _compile_jinja_template, render_jinja_template

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "Tests" / "Fixtures" / "chat_templates"
OUT = ROOT / "Tests" / "Fixtures" / "chat_templates.json"
GGUF = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"

# (bos_token, eos_token) as each family's tokenizer_config.json defines them. Qwen has no BOS token.
TOKENS = {
    "smollm2": ("<|im_start|>", "<|im_end|>"),
    "qwen2.5": ("", "<|im_end|>"),
    "qwen3": ("", "<|im_end|>"),
    "qwen3.5": ("", "<|im_end|>"),
    "llama-3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3.2": ("<|begin_of_text|>", "<|eot_id|>"),
    "mistral-nemo": ("<s>", "</s>"),
    "phi-3.5": ("<s>", "<|endoftext|>"),
    "gemma-2": ("<bos>", "<eos>"),
}


def msg(role, content):
    return {"role": role, "content": content}


CONVERSATIONS = {
    "single_user": [msg("user", "Hi")],
    "multi_turn": [msg("user", "Hi"), msg("assistant", "Hello!"), msg("user", "2+2?")],
    "system": [msg("system", "Be brief."), msg("user", "Hi")],
    "system_multi_turn": [msg("system", "Be brief."), msg("user", "Hi"), msg("assistant", "Hello!"), msg("user", "2+2?")],
    "multiline_unicode": [
        msg("system", "You are\n  a careful helper.\n"),
        msg("user", "Line one\nLine two\n\n\tindented\n"),
        msg("assistant", "Ünïcödé ✓ — 日本語 😀 e\u0301\r\nwindows line\u00a0end "),
        msg("user", "  spaces around  "),
    ],
    "empty_content": [msg("user", ""), msg("assistant", ""), msg("user", "x")],
    "template_lookalikes": [msg("user", "{{ not a tag }} {% raw %} {# no #} <|im_end|> [INST] \\n \" '")],
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city, in °C.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. \"Zürich\""},
                "days": {"type": "integer", "minimum": 1, "maximum": 7.5},
                "units": {"type": "string", "enum": ["c", "f"], "nullable": None, "strict": True},
            },
            "required": ["city"],
        },
        "return": {"type": "object"},
    },
}


def model_cases():
    """(template, messages, add_generation_prompt, extra, now) for the model templates."""
    cases = []
    for name in TOKENS:
        extra = {"date_string": "09 Mar 2025"} if name.startswith("llama") else {}
        for conversation in CONVERSATIONS.values():
            for add in (False, True):
                cases.append((name, conversation, add, extra, None))

    turns = CONVERSATIONS["multi_turn"]
    tool_turns = [msg("user", "Weather in Paris?"), msg("tool", '{"temp": 21}'), msg("tool", "sunny"), msg("user", "Thanks")]
    for name in ("llama-3.1", "llama-3.2"):
        date = {"date_string": "09 Mar 2025"}
        cases += [
            (name, turns, True, {**date, "tools": [WEATHER_TOOL]}, None),
            (name, turns, True, {**date, "tools": [WEATHER_TOOL], "tools_in_user_message": False}, None),
            (name, [msg("user", "Weather?"), msg("tool", "sunny")], True, date, None),
            (name, turns, True, {}, "2024-07-26T09:05:03"),   # no date_string: strftime_now("%d %b %Y")
            (name, [msg("system", "Tools only")], True, {**date, "tools": [WEATHER_TOOL]}, None),  # raises
        ]
    cases += [
        ("llama-3.1", turns, True, {"date_string": "09 Mar 2025", "builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]}, None),
        ("qwen2.5", turns, True, {"tools": [WEATHER_TOOL]}, None),
        ("qwen2.5", [msg("system", "Use tools.")] + turns, False, {"tools": [WEATHER_TOOL]}, None),
        ("qwen2.5", tool_turns, True, {}, None),
        ("qwen2.5", [], True, {}, None),   # messages[0] is undefined: UndefinedError
        ("qwen3", turns, True, {"tools": [WEATHER_TOOL]}, None),
        ("qwen3", tool_turns, True, {}, None),
        ("qwen3", turns, True, {"enable_thinking": False}, None),
        ("qwen3", [msg("user", "2+2?"), msg("assistant", "<think>\nAdd them.\n</think>\n\n4"), msg("user", "3+3?"),
                   msg("assistant", "<think>\nAgain.\n</think>\n\n6")], False, {}, None),
        ("qwen3.5", turns, True, {"tools": [WEATHER_TOOL]}, None),
        ("qwen3.5", tool_turns, True, {}, None),
        ("qwen3.5", turns, True, {"enable_thinking": False}, None),
        ("qwen3.5", [msg("user", "2+2?"), msg("assistant", "<think>\nAdd them.\n</think>\n\n4"), msg("user", "3+3?")], True, {}, None),
        ("mistral-nemo", turns, True, {"tools": [WEATHER_TOOL]}, None),
        ("mistral-nemo", [msg("system", "Be brief.")] + turns, False, {"tools": [WEATHER_TOOL, WEATHER_TOOL]}, None),
        ("mistral-nemo", [msg("user", "Hi"), msg("user", "Again")], True, {}, None),          # raises: not alternating
        ("mistral-nemo", [msg("assistant", "First")], True, {}, None),                         # raises: not alternating
        ("mistral-nemo", [msg("user", "Hi"), msg("tool", "result")], True, {}, None),          # raises: tool call id
        ("mistral-nemo", [msg("user", "Hi"), msg("developer", "x")], True, {}, None),          # raises: unknown role
        ("gemma-2", [msg("user", "Hi"), msg("user", "Again")], True, {}, None),                # raises: not alternating
        ("phi-3.5", [msg("system", ""), msg("user", "Hi")], True, {}, None),                   # empty system skipped
        ("smollm2", [], True, {}, None),
        ("smollm2", [msg("assistant", "I start."), msg("user", "Ok")], True, {}, None),
    ]
    return cases


# Small templates, each pinning down one rule. (name, template, extra, now)
SNIPPETS = [
    # whitespace control: trim_blocks, lstrip_blocks, -/+ modifiers, comments, newlines
    ("ws/trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter\n{% for i in [1, 2] %}\n{{ i }}\n{% endfor %}\n", {}),
    ("ws/lstrip_blocks", "  {% if true %}\n  x\n  {% endif %}\n\t{# comment #}\n  {{ 'variables keep their indent' }}\n", {}),
    ("ws/minus", "a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e\n\n {#- gone -#} \n f", {}),
    ("ws/plus", "  {%+ if true +%}\nx\n  {%+ endif %}\ny {% if true %}z{% endif %}\n", {}),
    ("ws/inline_block", "a {% if true %}b{% endif %} c\n  text {% if true %}\n  d\n{% endif %}", {}),
    ("ws/crlf", "line1\r\n{% if true %}\r\nline2\r\n{% endif %}\r\nline3\rline4\r\n", {}),
    ("ws/trailing_newlines", "x\n\n", {}),
    ("ws/raw", "{% raw %}{{ not rendered }} {% if %}{% endraw %}\n  {% raw -%}  kept {{ x }}  {%- endraw %}|", {}),
    ("ws/unicode_space", "\u3000{%- if true %}\u00a0x\u2003{%- endif %}", {}),
    # loops
    ("loop/variables", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                       "{{ loop.first }}{{ loop.last }}{{ loop.length }}<{{ loop.previtem }}|{{ loop.nextitem }}>;{% endfor %}",
     {"items": ["a", "b", "c"]}),
    ("loop/filter_else_controls", "{% for x in items if x != 2 %}{% if x == 4 %}{% continue %}{% endif %}{% if x > 5 %}{% break %}{% endif %}"
                                  "{{ x }}/{{ loop.index }}/{{ loop.length }} {% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}"
                                  "|{% for x in items if x > 100 %}{{ x }}{% else %}none passed{% endfor %}",
     {"items": [1, 2, 3, 4, 5, 6, 7]}),
    ("loop/scoping", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }},{% endfor %}{{ x }}|"
                     "{% for i in [1, 2] %}{% if i == 2 %}[{{ y }}]{% endif %}{% set y = i %}{% endfor %}|"
                     "{% if true %}{% set z = 'top-level if' %}{% endif %}{{ z }}", {}),
    ("loop/unpack_nested", "{% for k, v in pairs %}{{ k }}={{ v }};{% endfor %}{% for a in [[1, 2], [3]] %}{% for b in a %}"
                           "{{ loop.index }}{{ b }}{% endfor %}{{ loop.index }};{% endfor %}{% for c in 'héllo' %}{{ c }}.{% endfor %}",
     {"pairs": [["a", 1], ["b", [2]]]}),
    ("loop/else_after_break_or_continue", "{% for i in [1, 2] %}{% continue %}{% else %}E1{% endfor %}|{% for i in [1, 2] %}{% if i == 2 %}"
                                          "{% break %}{% endif %}{% else %}E2{% endfor %}|{% for i in [1] %}{% break %}{% else %}E3{% endfor %}", {}),
    ("loop/namespace", "{% set ns = namespace(count=0, roles='', last=none) %}{% for m in messages %}{% set ns.count = ns.count + 1 %}"
                       "{% set ns.roles = ns.roles ~ m.role[0] %}{% set ns.last = m %}{% endfor %}{{ ns.count }} {{ ns.roles }} {{ ns.last.content }} {{ ns.missing is defined }}",
     {}),
    ("loop/dict_iteration", "{% for k in d %}{{ k }},{% endfor %}|{% for k, v in d.items() if k != 'skip' %}{{ k }}={{ v }};{% endfor %}"
                            "|{{ d | list }}|{% for k, v in d | items %}{{ v }}{% endfor %}",
     {"d": {"z": 1, "skip": 2, "a": [3]}}),
    # expressions
    ("expr/arithmetic", "{{ 7 / 2 }} {{ 8 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 % 2 }} {{ -7.5 // 2 }}"
                        " {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2.0 ** 3 }} {{ 1 + true }} {{ 3 * 'ab' }} {{ [1] * 2 }} {{ -x }} {{ +x }} {{ 1 - 2.5 }}",
     {"x": 3}),
    ("expr/comparison", "{{ 1 == 1.0 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ 'Z' < 'a' }} {{ [1, 2] < [1, 3] }}"
                        " {{ 'e\u0301' == '\u00e9' }} {{ none == none }} {{ undefined_a == undefined_b }} {{ 1 != '1' }} {{ true == 1 }}", {}),
    ("expr/membership", "{{ 'x' in 'xyz' }} {{ 'xz' in 'xyz' }} {{ 2 in [1, 2] }} {{ 'a' in d }} {{ 'b' not in d }} {{ 1.0 in [1] }} {{ 'q' in nothing }}",
     {"d": {"a": None}}),
    ("expr/logic", "{{ 0 or 'x' }}|{{ 'a' and 'b' }}|{{ '' and 'b' }}|{{ none or [] }}|{{ not [] }}|{{ not 'a' }}|{{ 1 if 0 }}|{{ 1 if 0 else 2 }}"
                   "|{{ 'yes' if x is defined else 'no' }}", {}),
    ("expr/concat_and_repr", "{{ 'a' ~ 1 ~ none ~ true ~ [1, 'b'] ~ {'k': none} ~ 1.5 ~ undefined_thing }}|{{ [1, 'a', none, true, 2.0, ['n']] }}"
                             "|{{ {'a': 1, 'b': 'it\\'s', 'c': \"q\\\"d\"} }}|{{ ['\\n\\t\\\\', '\u00e9\u200b\\x01'] }}", {}),
    ("expr/floats", "{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789012345678.0 }} {{ 1e-5 }} {{ 0.0001 }} {{ 2.5e-4 }} {{ -0.0 }}"
                    " {{ 1.0 }} {{ 100.0 }} {{ 3.14159 }} {{ 1e100 }} {{ 5e-324 }} {{ 1.7976931348623157e308 }} {{ 2 / 3 }}", {}),
    ("expr/literals", "{{ 'a' 'b' \"c\" }} {{ '\\x41\\u00e9\\U0001F600\\101\\z' }} {{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_0.5 }}"
                      " {{ 2e3 }} {{ [1, 2,] }} {{ (1) }} {{ {'a': [1, {'b': 2}]}.a[1].b }} {{ foo.0 }}",
     {"foo": ["first"]}),
    ("expr/subscripts", "{{ s[0] }}{{ s[-1] }}{{ s[1:3] }}{{ s[::-1] }}{{ s[::2] }}{{ s[-3:] }}{{ s[10:] }}|{{ l[1:] }}{{ l[:-1] }}"
                        "{{ l[-2] }}{{ l[5] }}{{ l[::-2] }}{{ l[1:-1:1] }}|{{ d.k }}{{ d['k'] }}{{ d.missing }}{{ d['items'] }}",
     {"s": "héllo", "l": [1, 2, 3, 4], "d": {"k": "v", "items": "item value"}}),
    ("expr/folded_slices", "{{ (5)[1:] }}|{{ (none)[::-1] is defined }}|{{ [1, (none)[1:]] }}|{{ 'abc'[1:] }}|{{ {'a': 1}[:1] }}", {}),
    ("expr/set_forms", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (1, 2) %}{{ t | length }}{% set block %}  {{ a }} in a block\n{% endset %}[{{ block }}]"
                       "{% set up | upper | trim %} shout {% endset %}[{{ up }}]{% print a, b %}", {}),
    # macros
    ("macro/calls", "{% set top = 'before' %}{% macro m(a, b=a ~ '!', c=none) %}[{{ a }}|{{ b }}|{{ c }}|{{ top }}]{% endmacro %}{% set top = 'after' %}"
                    "{{ m(1) }}{{ m(1, 2, 3) }}{{ m(a=5, c=6) }}{{ m() }}|{% macro v(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ v(1, 2, z=3) }}"
                    "|{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"
                    "|{% macro s() %}{% set z = 1 %}{{ z }}{% endmacro %}{{ s() }}{{ z }}|{% macro t() -%}\n  hi  \n{%- endmacro %}[{{ t() }}]{{ t() is string }}"
                    "|{% set ns = namespace(v=0) %}{% macro inc() %}{% set ns.v = ns.v + 1 %}{% endmacro %}{{ inc() }}{{ inc() }}{{ ns.v }}"
                    "|{% macro y() %}{{ y }}{% endmacro %}{% for y in [1, 2] %}{{ y() if false else y }}{% endfor %}"
                    "|{% for w in ['p', 'q'] %}{% macro g() %}{{ w }}{% endmacro %}{{ g() }}{% endfor %}", {}),
    # filters
    ("filter/strings", "[{{ '  x \\n'|trim }}][{{ 'xxaxx'|trim('x') }}][{{ 'hello world-foo(bar'|title }}][{{ 'hELLO wORLD'|capitalize }}]"
                       "[{{ 'ab'|upper }}{{ 'AB'|lower }}][{{ 'a-b-c'|replace('-', '+') }}][{{ 'aaa'|replace('a', 'b', 2) }}][{{ 42|string }}]"
                       "[{{ none|string }}][{{ 'ΑΣ b'|lower }}][{{ 'ß'|upper }}][{{ x|trim }}][{{ 12|trim }}]", {}),
    ("filter/sequences", "{{ [3, 1, 2]|length }}{{ 'héllo'|length }}{{ {'a': 1}|length }}{{ x|length }}|{{ 'abc'|list }}{{ [1, 2]|first }}"
                         "{{ [1, 2]|last }}{{ 'abc'|last }}{{ []|first }}|{{ [1, 'a', none]|join }}{{ [1, 2]|join(', ') }}"
                         "{{ users|join('/', attribute='name') }}|{{ [1, 2]|reverse|list }}{{ 'abc'|reverse }}|{{ (users|map(attribute='name'))|list }}"
                         "{{ users|map(attribute='age', default=0)|list }}{{ ['a', 'b']|map('upper')|list }}",
     {"users": [{"name": "ann", "age": 3}, {"name": "bob"}]}),
    ("filter/select", "{{ messages|selectattr('role', 'equalto', 'user')|list|length }}|{{ messages|rejectattr('role', 'eq', 'user')|map(attribute='content')|join(',') }}"
                      "|{{ [0, 1, 2, '', 'a']|select|list }}|{{ [1, 2, 3, 4]|select('odd')|list }}|{{ [1, 2, 3]|reject('equalto', 2)|list }}"
                      "|{{ messages|selectattr('missing')|list }}|{{ messages|selectattr('missing', 'undefined')|list|length }}"
                      "|{% if messages|selectattr('role', 'equalto', 'nobody') %}generator is true{% endif %}"
                      "|{{ [1, 2]|select('in', [2, 3])|list }}", {}),
    ("filter/default", "{{ x|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|{{ none|default('d') }}|{{ 0|d(5, boolean=true) }}"
                       "|{{ d.missing|default('dm') }}", {"d": {}}),
    ("filter/numbers", "{{ '12'|int }} {{ ' -3 '|int }} {{ '1_000'|int }} {{ '0x1F'|int(0, 16) }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '3.9'|int }}"
                       " {{ '2.5'|float }} {{ 'y'|float }} {{ 3|float }} {{ -3|abs }} {{ -2.5|abs }} {{ true|int }}", {}),
    ("filter/tojson", "{{ data|tojson }}\n{{ data|tojson(indent=2) }}\n{{ data|tojson(indent='\\t', sort_keys=true) }}\n{{ data|tojson(ensure_ascii=true) }}"
                      "\n{{ data|tojson(separators=[',', ':']) }}\n{{ []|tojson(indent=2) }}{{ {}|tojson(indent=2) }}\n{{ 'a\"b\\\\c\\n\\u0001\\u007f'|tojson }}"
                      "\n{{ [1.0, 1e20, 1e-7, 0.5, -0.0, 123]|tojson }}\n{{ data.text|tojson(indent=0) }}{{ [[]]|tojson(indent=0) }}",
     {"data": {"text": "Zürich — 😀 \u2028", "n": None, "b": [True, False], "nested": {"z": 1, "a": [1.5, {"k": []}]}}}),
    ("filter/dictsort_indent", "{{ d|dictsort }}|{{ d|dictsort(true) }}|{{ d|dictsort(by='value') }}|{{ d|dictsort(reverse=true) }}"
                               "|{{ 'a\nb\n\nc'|indent }}|{{ 'a\nb\n\nc'|indent(2, first=true, blank=true) }}|{{ 'x\r\ny'|indent('> ') }}",
     {"d": {"b": 2, "A": 3, "a": 1, "C": 0}}),
    # tests
    ("test/types", "{% for v in values %}{{ v is defined }}{{ v is none }}{{ v is string }}{{ v is number }}{{ v is integer }}{{ v is float }}"
                   "{{ v is boolean }}{{ v is mapping }}{{ v is iterable }}{{ v is sequence }}{{ v is true }}{{ v is false }};{% endfor %}"
                   "{{ nothing is defined }}{{ nothing is undefined }}{{ nothing is iterable }}{{ nothing is sequence }}{{ nothing is none }}",
     {"values": [None, True, False, 0, 1.5, "s", [1], {"a": 1}]}),
    ("test/comparisons", "{{ 4 is divisibleby 2 }}{{ 3 is divisibleby(2) }}{{ 3 is odd }}{{ 3 is even }}{{ 'abc' is lower }}{{ 'ABC' is upper }}"
                         "{{ 'A1' is upper }}{{ '1' is lower }}{{ 1 is eq 1.0 }}{{ 1 is equalto 2 }}{{ 2 is gt 1 }}{{ 2 is le 1 }}{{ 2 is in [1, 2] }}"
                         "{{ none is sameas none }}{{ false is sameas false }}{{ 'upper' is filter }}{{ 'odd' is test }}{{ x is not defined }}", {}),
    # methods
    ("method/strings", "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxhixx'.strip('x') }}][{{ s.split() }}][{{ 'a,b,,c'.split(',') }}]"
                       "[{{ 'a b c  '.split(none, 1) }}][{{ '  a b c'.rsplit(none, 1) }}][{{ 'a,b,c'.rsplit(',', 1) }}][{{ s.startswith(' ') }}]"
                       "[{{ 'abc'.startswith(('x', 'a')) }}][{{ 'abc'.endswith('bc') }}][{{ 'aXbX'.replace('X', '-') }}][{{ 'hello'.find('l') }}]"
                       "[{{ 'hello'.find('z') }}][{{ 'hello'.count('l') }}][{{ ', '.join(['a', 'b']) }}][{{ \"they're here\".title() }}]"
                       "[{{ 'ǅungla'.capitalize() }}][{{ 'ΑΣ'.capitalize() }}][{{ 'Abc'.upper() }}{{ 'Abc'.lower() }}][{{ 'prefix-x'.removeprefix('prefix-') }}]"
                       "[{{ '\u3000\u00a0x\\r\\n'.strip() }}][{{ 'a\\r\\nb'.split('\\n') }}][{{ 'a\\r\\nb\\rc\\x1cd\\n'.splitlines() }}]",
     {"s": "  Hello  big World \n"}),
    ("method/dicts", "{{ d.items() | list }}|{{ d.keys() | list }}|{{ d.values() | list }}|{{ d.get('a') }}{{ d.get('zz') }}{{ d.get('zz', 'dflt') }}"
                     "|{{ d.items is defined }}|{{ d['items'] }}|{{ d.copy() }}|{{ [1, 2, 1].count(1) }}{{ [5, 6].index(6) }}",
     {"d": {"a": 1, "items": "value under 'items'"}}),
    # globals
    ("global/functions", "{{ range(3)|list }}{{ range(1, 7, 2)|list }}{{ range(5, 0, -2)|list }}|{{ dict(a=1, b='x') }}|{{ namespace(a=1).a }}"
                         "|{{ strftime_now('%d %b %Y|%A %a %B %b %m %y %Y %H %I %M %S %p %j %w %u %e %-d %-m %f %z%Z %%|%F %T %D %R %c') }}",
     {}, "2024-03-05T09:05:03.123456"),
    ("global/strftime_evening", "{{ strftime_now('%I %p %-I %a %j %U') if false else strftime_now('%I %p %-I %A %j') }}", {}, "2023-12-31T23:59:59"),
    # errors
    ("error/macro_arguments", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", {}),
    ("error/macro_keyword", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, z=2) }}", {}),
    ("error/runtime_slice", "{{ x[1:] }}", {"x": 5}),
    ("error/raise", "{% if messages|length == 0 %}{{ raise_exception('No messages: ' ~ 0) }}{% endif %}", {}),
    ("error/undefined_attribute", "{{ missing.attribute }}", {}),
    ("error/undefined_arithmetic", "{{ 1 + missing }}", {}),
    ("error/chained_undefined", "{{ d.a.b }}", {"d": {}}),
    ("error/undefined_element", "{{ l[3].role }}", {"l": [1]}),
    ("error/concat_types", "{{ 'a' + 1 }}", {}),
    ("error/list_concat", "{{ [1] + none }}", {}),
    ("error/not_iterable", "{% for x in 3 %}{% endfor %}", {}),
    ("error/generator_length", "{{ [1, 2]|select('odd')|length }}", {}),
    ("error/compare_types", "{{ 1 < 'a' }}", {}),
    ("error/namespace_set", "{% set x = 1 %}{% set x.a = 2 %}", {}),
    ("error/tojson_undefined", "{{ missing|tojson }}", {}),
    ("error/deferred_unknown_filter", "{% if true %}{{ 'x'|no_such_filter }}{% endif %}", {}),
]


def classify(error):
    if type(error) is jinja2.exceptions.TemplateError:
        return "raise_exception"
    if isinstance(error, jinja2.exceptions.UndefinedError):
        return "undefined"
    if isinstance(error, (TypeError, ValueError, ArithmeticError)):
        return "type"
    if isinstance(error, jinja2.exceptions.TemplateRuntimeError):
        return "runtime"
    raise error


def render(source, messages, add_generation_prompt, bos, eos, extra, now):
    kwargs = dict(extra)
    tools = kwargs.pop("tools", None)
    environment = _compile_jinja_template(source).environment
    real_clock = environment.globals["strftime_now"]
    if now is not None:
        pinned = datetime.datetime.fromisoformat(now)
        environment.globals["strftime_now"] = lambda fmt: pinned.strftime(fmt)
    try:
        rendered, _ = render_jinja_template(
            conversations=[messages], tools=tools, chat_template=source, add_generation_prompt=add_generation_prompt,
            bos_token=bos, eos_token=eos, **kwargs)
        return {"expected": rendered[0]}
    except Exception as error:  # noqa: BLE001 - every failure is recorded with its kind
        return {"error": str(error), "error_kind": classify(error)}
    finally:
        environment.globals["strftime_now"] = real_clock


def check_smollm2(source):
    try:
        from gguf import GGUFReader
    except ImportError:
        print("note: `gguf` is not installed; smollm2.jinja not compared with the GGUF")
        return
    if not GGUF.exists():
        print(f"note: {GGUF} is absent; smollm2.jinja not compared with the GGUF")
        return
    in_gguf = GGUFReader(str(GGUF)).fields["tokenizer.chat_template"].contents()
    assert in_gguf == source, "Tests/Fixtures/chat_templates/smollm2.jinja differs from the GGUF's template"


def main():
    templates = {path.stem: path.read_text(encoding="utf-8") for path in sorted(TEMPLATE_DIR.glob("*.jinja"))}
    assert set(templates) == set(TOKENS), f"templates {sorted(templates)} != {sorted(TOKENS)}"
    check_smollm2(templates["smollm2"])
    cases = []
    for name, messages, add, extra, now in model_cases():
        bos, eos = TOKENS[name]
        case = {"template": name, "messages": messages, "add_generation_prompt": add, "bos_token": bos, "eos_token": eos, "extra": extra}
        if now is not None:
            case["now"] = now
        case.update(render(templates[name], messages, add, bos, eos, extra, now))
        cases.append(case)
    snippet_messages = [msg("system", "S"), msg("user", "U1"), msg("assistant", "A1"), msg("user", "U2")]
    for snippet in SNIPPETS:
        name, source, extra = snippet[:3]
        now = snippet[3] if len(snippet) > 3 else None
        templates["snippet/" + name] = source
        messages = [] if name == "error/raise" else snippet_messages
        case = {"template": "snippet/" + name, "messages": messages, "add_generation_prompt": False, "bos_token": "",
                "eos_token": "", "extra": extra}
        if now is not None:
            case["now"] = now
        case.update(render(source, messages, False, "", "", extra, now))
        cases.append(case)
    fixture = {
        "generator": {"script": "Scripts/make_chat_template_fixtures.py", "transformers": transformers.__version__,
                      "jinja2": jinja2.__version__},
        "templates": templates,
        "cases": cases,
    }
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum("error" in c for c in cases)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(templates)} templates, {len(cases)} cases ({errors} expected errors)")


if __name__ == "__main__":
    main()
