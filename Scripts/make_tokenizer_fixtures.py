#!/usr/bin/env python3
"""Reference token ids for Graft's BPE tokenizer, computed by llama.cpp (through llama-cpp-python),
not by Graft.

Writes, for the SmolLM2 vocabulary in models/SmolLM2-135M-Instruct.Q4_1.gguf:

* Tests/Fixtures/tokenizer_smollm2.json: a list of {"text", "ids", "decoded"} for a few hundred
  strings: "ids" is llama_tokenize(text, add_special=False, parse_special=True) and "decoded" is
  llama_detokenize(ids, remove_special=False, unparse_special=True).
* Tests/Fixtures/tokenizer_pre_variants.json: a list of {"text", "ids": {pre name: ids}}: the same
  strings tokenized by llama.cpp with the file's tokenizer.ggml.pre replaced by other pre-tokenizers
  ("gpt-2", "llama-bpe", "qwen2") or removed (llama.cpp's fallback), so every splitter Graft
  implements is checked against llama.cpp on one vocabulary.

The strings are a hand-written list plus mixes drawn from a seeded generator: the output is the
same on every run for the same llama.cpp.

Run: $(Scripts/reference-env.sh) Scripts/make_tokenizer_fixtures.py
"""
import ctypes
import json
import pathlib
import random
import tempfile

import gguf
import llama_cpp

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
FIXTURES = ROOT / "Tests" / "Fixtures"
VARIANTS = ["gpt-2", "llama-bpe", "qwen2", None]  # None: key removed

PROSE = [
    "The quick brown fox jumps over the lazy dog. It wasn't the first time, and it won't be the last: "
    "foxes are persistent, dogs are patient, and the meadow has room for both.",
    "In 1969, Apollo 11 landed on the Moon. Neil Armstrong's first words were broadcast to an estimated "
    "600 million people, roughly one fifth of the world's population at the time.",
    "Low-rank adaptation freezes the pretrained weights and trains two small matrices per layer; their "
    "product, scaled by alpha / r, is added to the frozen projection. With r = 8 the adapter holds "
    "under 1% of the parameters, yet recovers most of the quality of full fine-tuning.\n\n"
    "That is why a 135M model can be adapted on a laptop CPU in minutes.",
    "Il était une fois une petite fille qui s'appelait « Chaperon rouge ». Elle habitait à l'orée "
    "d'un bois, avec sa mère — et sa grand-mère vivait de l'autre côté.",
    "Der schnelle braune Fuchs springt über den faulen Hund. Größe, Maß und Straße: ß ist kein ẞ.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Москва — столица России.",
    "敏捷的棕色狐狸跳过了懒狗。今天天气很好，我们去公园散步吧！",
    "日本語のテキスト：東京は日本の首都です。ひらがな、カタカナ、漢字が混ざっています。",
    "다람쥐 헌 쳇바퀴에 타고파. 한국어 문장도 토큰화해야 합니다.",
    "مرحبا بالعالم! هذه جملة عربية تحتوي على أرقام ٠١٢٣٤٥٦٧٨٩ وعلامات ترقيم؛ أليس كذلك؟",
    "नमस्ते दुनिया! यह एक हिंदी वाक्य है जिसमें संख्याएँ १२३ भी हैं।",
    "Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο. Αλφάβητο: αβγδεζηθ.",
    "שלום עולם! זה משפט בעברית.",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ แต่มีระหว่างประโยค",
]

CODE = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "import numpy as np\n\nx = np.arange(10, dtype=np.float32)  # comment\nprint(f\"{x.sum():.3f}\")\n",
    "class Foo(Bar):\n\tdef __init__(self, *args, **kwargs):\n\t\tsuper().__init__(*args, **kwargs)\n",
    "public struct Tensor: Sendable {\n    let shape: [Int]\n    func reshaped(_ s: [Int]) throws(TensorError) -> Tensor { self }\n}\n",
    "let xs = [1, 2, 3].map { $0 * 2 }.filter { $0 > 2 } // [4, 6]",
    "guard let value = dict[\"key\"] as? String else { return nil }",
    '{"name": "graft", "version": "0.1.0", "tags": ["lora", "cpu"], "nested": {"a": null, "b": true, "n": -1.5e-3}}',
    "[\n  {\n    \"id\": 1,\n    \"text\": \"hello\"\n  }\n]",
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Test</title></head>\n"
    "<body><div class=\"a b\" id='x'>Hi &amp; bye&nbsp;&lt;3</div></body>\n</html>",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE 'A%' ORDER BY id DESC;",
    "for i in $(seq 1 10); do echo \"$i\" >> out.txt; done && cat out.txt | wc -l",
    "regex = r'^(?:[a-z0-9!#$%&*+/=?^_`{|}~-]+)@[a-z]+\\.[a-z]{2,}$'",
    "x+=1;y-=2;z*=3;w/=4;a%=5;b**=6;c//=7;d<<=1;e>>=2;f&=g|h^~i",
    "if (a && b || !c) { return a ?? b; } else if (x != y) { x === y; }",
]

HAND_WRITTEN = [
    "",
    " ",
    "  ",
    "   ",
    "\n",
    "\t",
    "a",
    "'",
    "Hello world!",
    "The year 2024 had 365 days.",
    "  two spaces\nnewline",
    "I'm here, it's fine",
    "<|im_start|>user\nHi<|im_end|>\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
    "<|im_start|>assistant\n4<|im_end|>\n",
    "<|endoftext|>",
    "text<|endoftext|>more text",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|im_start|>",
    "<|im_start",
    "im_start|>",
    "< |im_start| >",
    "<|IM_START|>",
    "<|im_start|><|im_start|>",
    "abc<|im_end|>def",
    " <|im_end|> ",
    "<filename>main.py<file_sep><reponame>graft<repo_name>",
    "<gh_stars>100<issue_start>bug<issue_comment>fix<issue_closed>",
    "<jupyter_start><jupyter_text>md<jupyter_code>x=1<jupyter_output>1<empty_output><jupyter_script>",
    "I'm you're they've we'll he'd it's don't",
    "I'M YOU'RE THEY'VE WE'LL HE'D IT'S DON'T",
    "I'm You'Re tHey'vE",
    "'s 't 're 've 'm 'll 'd",
    "''s '''t 'x 'r 'l 'v",
    "rock 'n' roll",
    "it’s a curly apostrophe",
    "dogs' bones",
    "1234567890",
    "3.14159265358979323846",
    "1,000,000 and 1.000.000 and 1 000 000",
    "-42 +7 0x1F 0b1010 1e-10 6.02e23",
    "123456789012345678901234567890",
    "a1b2c3 x99y 007",
    "٠١٢٣٤٥٦٧٨٩",
    "१२३४५",
    "１２３ full width",
    "½ ¾ ² ³ ¹ Ⅻ ⅷ ① ⑩",
    "   leading spaces",
    "trailing spaces   ",
    "a  b   c    d",
    "a\tb\t\tc",
    "\n\n\n",
    "a\r\nb\r\n\r\nc",
    "\r\n",
    "\r",
    " \n ",
    "\t\n\t",
    "line1\n  line2\n\tline3\n",
    "a \u00a0b",
    "\u3000x\u3000",
    "x\u2028y\u2029z",
    "a\u0085b",
    "a\u000bb\u000cc",
    "zero\u200bwidth\u200djoiner",
    "\u00adsoft\u00adhyphen",
    "nul\u0000byte and esc\u001b[31m and del\u007f",
    "\u0001\u0002\u001f",
    "...!!!???",
    "!!!",
    "--- *** ___ === +++ ~~~",
    "(a) [b] {c} <d>",
    "\"quoted\" 'single' `back`",
    "@user #hashtag $100 50% ^caret &amp",
    "path/to/file.txt C:\\Windows\\System32",
    "https://example.com/path?query=1&x=y#frag",
    "user.name+tag@example.co.uk",
    "e\u0301 \u00e9 n\u0303 \u00f1",
    "Z\u0351\u0352\u0353a\u0354\u0355l\u0356g\u0357o",
    "a\u0308\u0304",
    "👍",
    "👨‍👩‍👧‍👦 family",
    "🇫🇷🇯🇵🇺🇸",
    "👋🏽 hi",
    "❤️ ❤",
    "1️⃣ 2️⃣ #️⃣",
    "🏳️‍🌈",
    "emoji🙂inside🙃words",
    "🤖🤖🤖",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛",
    "𐍈 gothic",
    "ǅ ǈ ǋ titlecase",
    "ﬁ ﬂ ligatures",
    "αβγ ΑΒΓ",
    "Привет, мир!",
    "你好，世界！",
    "こんにちは世界",
    "안녕하세요",
    "مرحبا",
    "नमस्ते",
    "Ελληνικά",
    "ქართული",
    "Հայերեն",
    "ꦗꦮ",
    # Assigned in Unicode 16 and 17, after llama.cpp's table (15.1): not letters or digits to it.
    "aꟋb ꟍ𐗀𐗁 Garay digits 𐵀𐵁 x𐵂",
    "Mix of English, русский, 中文, العربية, and हिन्दी.",
    "CamelCaseWord snake_case_word kebab-case-word SCREAMING_CASE",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "    ",
    "\n\n    \n",
    "word\n\n\nword",
    "tab\t",
    "Ġ Ċ ĉ",
    "ĠĠ",
    "ÿþ ¡¬®",
    "end.",
] + PROSE + CODE + [
    "\n".join(PROSE[:3]),
    "\n\n".join(CODE[:4]),
]

# Fragments the seeded generator mixes.
POOL = [
    "hello", "World", "don't", "I'LL", "we've", "'s", "'", "x", "Zürich", "naïve", "café",
    "0", "7", "42", "2024", "3.5", "1,234", "٣", "٤٥", "१०", "５", "½", "²",
    " ", "  ", "\t", "\n", "\r\n", "\n\n", "   ", "\u00a0", "\u3000",
    ".", ",", "!", "?", "...", "-", "--", "()", "[]", "{}", "<", ">", "=>", "->", "::", "#", "@", "$",
    "\"", "`", "\\", "/", "|", "_", "*", "%", "&", "+",
    "日本", "中文", "한국", "русский", "Ελλάδα", "عربى", "हिन्दी", "ไทย", "עברית",
    "e\u0301", "\u0301", "\u200b", "\u200d", "\ufe0f",
    "🙂", "👍🏾", "👨‍💻", "🇩🇪", "❤️", "🤖",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<file_sep>", "<|im_", "|>",
    "def", "return", "func", "let", "var", "self.", "__init__", "print(", ");",
]


def generated(count, seed=1234):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.randint(1, 12)
        parts = [rng.choice(POOL) for _ in range(n)]
        joiner = rng.choice(["", "", " ", "\n", "  "])
        out.append(joiner.join(parts))
    return out


def texts():
    seen, result = set(), []
    for t in HAND_WRITTEN + generated(180):
        if t not in seen:
            seen.add(t)
            result.append(t)
    return result


def load(path):
    return llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)


def tokenize(llm, text):
    return llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)


def detokenize(llm, ids):
    """llama_detokenize with special tokens rendered, as bytes."""
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    arr = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    size = 64 + 64 * len(ids)
    buf = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, False, True)
    assert 0 <= n <= size, n
    return buf.raw[:n]


def with_pre(src, dst, pre):
    """Copies the GGUF at src to dst with tokenizer.ggml.pre set to pre (removed when None):
    the key/value section is rebuilt, tensor infos and data are copied unchanged (tensor offsets
    are relative to the aligned data section, so they stay valid)."""
    reader = gguf.GGUFReader(str(src))
    raw = reader.data
    fields = [f for f in reader.fields.values() if not f.name.startswith("GGUF.")]

    def raw_bytes(field):
        return bytes(raw[field.offset:field.offset + sum(int(p.nbytes) for p in field.parts)])

    def string_kv(key, value):
        k, v = key.encode(), value.encode()
        return (len(k).to_bytes(8, "little") + k + int(gguf.GGUFValueType.STRING).to_bytes(4, "little")
                + len(v).to_bytes(8, "little") + v)

    kvs = []
    for f in fields:
        if f.name == "tokenizer.ggml.pre":
            if pre is not None:
                kvs.append(string_kv(f.name, pre))
        else:
            kvs.append(raw_bytes(f))
    infos = b"".join(raw_bytes(t.field) for t in reader.tensors)
    alignment = 32
    if "general.alignment" in reader.fields:
        alignment = int(reader.fields["general.alignment"].parts[-1][0])
    header = (b"GGUF" + int(reader.fields["GGUF.version"].parts[-1][0]).to_bytes(4, "little")
              + len(reader.tensors).to_bytes(8, "little") + len(kvs).to_bytes(8, "little")
              + b"".join(kvs) + infos)
    header += b"\0" * (-len(header) % alignment)
    with open(dst, "wb") as out:
        out.write(header)
        out.write(bytes(raw[reader.data_offset:]))


def json_lines(rows):
    """A JSON list with one compact row per line: small, and diffs show which string changed."""
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"


def main():
    strings = texts()
    assert len(strings) >= 200, len(strings)

    llm = load(MODEL)
    entries = []
    mismatched_decodes = 0
    for t in strings:
        ids = tokenize(llm, t)
        decoded = detokenize(llm, ids).decode("utf-8")
        mismatched_decodes += decoded != t
        entries.append({"text": t, "ids": ids, "decoded": decoded})
    (FIXTURES / "tokenizer_smollm2.json").write_text(json_lines(entries), encoding="utf-8")
    print(f"tokenizer_smollm2.json: {len(entries)} strings, "
          f"{sum(len(e['ids']) for e in entries)} tokens, {mismatched_decodes} decodes differ from the text")

    variants = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pre in VARIANTS:
            path = pathlib.Path(tmp) / "variant.gguf"
            with_pre(MODEL, path, pre)
            variant = load(path)
            variants[pre or "(none)"] = [tokenize(variant, t) for t in strings]
            del variant
            path.unlink()
    rows = [{"text": t, "ids": {name: ids[i] for name, ids in variants.items()}} for i, t in enumerate(strings)]
    (FIXTURES / "tokenizer_pre_variants.json").write_text(json_lines(rows), encoding="utf-8")
    for name, ids in variants.items():
        differ = sum(a != e["ids"] for a, e in zip(ids, entries))
        print(f"pre {name}: {differ} of {len(ids)} strings tokenize differently from smollm")

if __name__ == "__main__":
    main()
