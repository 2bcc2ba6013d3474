"""Linear-time pattern matching (lambda/bedrock_custom_resource/patterns.py) against Python's own re.

The reference is re.fullmatch, which is right but backtracks: it is asked only about texts on which it is known
to be fast (at most RE_MAX_LENGTH characters; RE_MAX_LENGTH_AMBIGUOUS for the patterns whose repeated group
starts with "-*", on which re takes about twice as long per added hyphen). Linear time is shown without a clock:
the matcher counts its work, and the work per character stays under a constant on adversarial texts up to each
member's maximum length and ten times beyond it. The time those take is a figure of bench/bench.py.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from bedrock_custom_resource import contract, patterns
from botocore.model import Shape
from cdk_bedrock_customization.models_file import KEY_PATTERN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.adversarial_texts import adversarial_texts

OPERATIONS = (
    "CreateModelCustomizationJob",
    "CreateCustomModel",
    "CreateCustomModelDeployment",
    "CreateProvisionedModelThroughput",
    "GetModelCustomizationJob",
)
JOB_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*"
RE_MAX_LENGTH = 120
RE_MAX_LENGTH_AMBIGUOUS = 14
# The length used for a member that states no maximum.
DEFAULT_MAX_LENGTH = 2048
# Work per character (plus one, for the empty text) of a matcher that starts cold, on every adversarial text
# below. Each character costs one DFA step; one not memoized costs at most the threads of the state and the
# closures of their targets, each bounded by the pattern's size. The largest measured for the shipped model is
# about 523, on [a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256} at 256 characters (up to 512 threads at a time).
WORK_PER_CHARACTER = 600
# A text's characters and nothing else: a matcher that cached less, or backtracked, would do more.
WARM_WORK_PER_CHARACTER = 1


def _model_shapes() -> Iterator[Shape]:
    model = contract.service_model()
    for name in model.shape_names:
        yield model.shape_for(name)


def _max_lengths() -> dict[str, int]:
    """Every pattern of the service model, with the longest maximum length of the members that use it."""
    lengths: dict[str, int] = {}
    for shape in _model_shapes():
        if "pattern" in shape.metadata:
            pattern = shape.metadata["pattern"]
            lengths[pattern] = max(lengths.get(pattern, 0), shape.metadata.get("max", DEFAULT_MAX_LENGTH))
    return lengths


def _operation_patterns() -> set[str]:
    """The patterns of every member the resources' operations take, at any depth."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = [contract.service_model().operation_model(name).input_shape for name in OPERATIONS]
    while todo:
        shape = todo.pop()
        if shape is None or shape.name in seen:
            continue
        seen.add(shape.name)
        if "pattern" in shape.metadata:
            found.add(shape.metadata["pattern"])
        todo.extend(getattr(shape, "members", {}).values())
        todo.extend(getattr(shape, name) for name in ("member", "key", "value") if hasattr(shape, name))
    return found


def _readable_by_re(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


MAX_LENGTHS = _max_lengths()
SERVICE_PATTERNS = sorted(MAX_LENGTHS)
READABLE = [pattern for pattern in SERVICE_PATTERNS if _readable_by_re(pattern)]


def _re_bound(pattern: str) -> int:
    return RE_MAX_LENGTH_AMBIGUOUS if "-*[" in pattern else RE_MAX_LENGTH


def _agrees(pattern: str, text: str) -> None:
    assert patterns.fullmatch(pattern, text) == (re.fullmatch(pattern, text) is not None), (pattern, text)


# --- every pattern compiles ------------------------------------------------------------------------------------


def test_the_service_model_has_the_patterns_these_tests_expect():
    assert len(SERVICE_PATTERNS) >= 100
    assert JOB_NAME in SERVICE_PATTERNS
    assert len(_operation_patterns()) >= 15


@pytest.mark.parametrize("pattern", READABLE)
def test_every_pattern_re_can_read_is_matched_in_linear_time(pattern):
    """None falls back to being left to Bedrock: no backreference, lookaround or other construct is refused."""
    assert patterns.compile(pattern).size > 0


def test_the_only_patterns_re_cannot_read_use_unicode_properties_and_no_resource_uses_them():
    unreadable = set(SERVICE_PATTERNS) - set(READABLE)
    assert unreadable == {r"\p{L}[\p{L}\p{M}0-9_]*( [\p{L}\p{M}0-9_]+)*"}
    assert not unreadable & _operation_patterns()
    for pattern in unreadable:
        with pytest.raises(re.error):
            patterns.compile(pattern)


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(a)\1", "backreference"),
        (r"(?P<x>a)(?P=x)", "backreference"),
        (r"(?=a)a", "lookahead or lookbehind"),
        (r"(?<!a)b", "negative lookahead or lookbehind"),
        (r"(?>a+)b", "atomic group"),
        (r"a*+b", "possessive repeat"),
        (r"(a)?(?(1)b|c)", "conditional group"),
        (r"(?i)a", "case-insensitive"),
        (r"x(?i:a)", "case-insensitive"),
        ("a{1,100000}", "instructions"),
    ],
)
def test_constructs_that_need_backtracking_are_refused_when_compiled(pattern, construct):
    with pytest.raises(patterns.PatternUnsupported, match=construct):
        patterns.compile(pattern)


# --- differential tests against re -----------------------------------------------------------------------------

# Characters that patterns of the model treat specially, and some they never accept.
ODD_CHARACTERS = "aZ09-._:/ +!\n\t\x00é\u00ff\u0100\ud800"


@st.composite
def near_misses(draw: st.DrawFn, pattern: str) -> str:
    """A text the pattern matches (hypothesis's from_regex), or one a character away from it, or random text;
    cut to a length on which re is fast."""
    text = draw(st.from_regex(pattern, fullmatch=True))
    character = draw(st.sampled_from(ODD_CHARACTERS) | st.characters())
    position = draw(st.integers(0, len(text)))
    mutation = draw(st.sampled_from(["none", "insert", "delete", "replace", "random"]))
    if mutation == "insert":
        text = text[:position] + character + text[position:]
    elif mutation == "delete":
        text = text[:position] + text[position + 1 :]
    elif mutation == "replace":
        text = text[:position] + character + text[position + 1 :]
    elif mutation == "random":
        text = draw(st.text(st.sampled_from(ODD_CHARACTERS) | st.characters(), max_size=40))
    return text[: _re_bound(pattern)]


# Each service model pattern's examples: the same on every run, and from_regex's large draws allowed.
PER_PATTERN = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("pattern", READABLE)
@settings(PER_PATTERN, max_examples=20)
@given(data=st.data())
def test_every_service_model_pattern_answers_as_re(pattern, data):
    _agrees(pattern, data.draw(near_misses(pattern), label="text"))


# Patterns with what the service model's use, alone or in odd combinations: anchors (also inside alternations),
# $ before a final newline, boundaries, categories, flags, nullable repeats, lazy and bounded repeats.
TRICKY = [
    r"a$",
    r"a$\n",
    r"a\Z\n?",
    r"\Aa|b\Z",
    r"^a|b$",
    r"(^a|b)*",
    r".*(^[a-z]$)|(x)",
    r".*(^[a-z]+$)|(^x-[a-z]$)|(ab).*",
    r"(?:$|a)*\n?",
    r"(?:^|a)+b",
    r"x*$\n*$",
    r"$",
    r"^$",
    r"\ba\b",
    r"\B",
    r"\b",
    r"a\B.*",
    r".*\b-\b.*",
    r"(?a)\w+\b",
    r"\w+",
    r"\d\s\W\S\D",
    r"[\w-]+",
    r"[^\w\n]*",
    r"[^a-c\d]+",
    r"(a|)*b",
    r"(a*)*",
    r"(|a)+",
    r"(?:a|b)*?c",
    r"a{2,3}",
    r"(ab){0,2}",
    r"a{0}b",
    r"(a|ab)(c|bcd)(d*)",
    r"(?s).*",
    r".*",
    r"(?s:.)\n?.",
    r"(?m)^a$\n^b$",
    r"(?x) a b # comment",
    r"[a-c]{1,3}(-*[a-c.\-]){0,3}",
    r"([a-c][_-]?){1,4}",
]


@pytest.mark.parametrize("pattern", TRICKY)
@settings(derandomize=True, deadline=None, max_examples=60, database=None)
@given(text=st.text(alphabet="abcdx\n _-1.é", max_size=10))
def test_tricky_patterns_answer_as_re(pattern, text):
    _agrees(pattern, text)


@pytest.mark.parametrize("pattern", TRICKY)
def test_tricky_patterns_answer_as_re_on_the_empty_text_and_single_newlines(pattern):
    for text in ("", "\n", "\n\n", "a\n", "\na", "b\n", "ab\n", "a\nb", "a\nb\n", "x\n\n"):
        _agrees(pattern, text)


JavaScript = Callable[[list[list[str]]], list[bool]]


@pytest.fixture(scope="module")
def javascript() -> Iterator[JavaScript]:
    """Whether ECMA-262 fully matches each [pattern, text]: Node's own RegExp (jsii needs Node, so it is here), with
    the u flag (code points, as Python's strings). One Node process, asked a line of JSON at a time."""
    script = (
        "require('readline').createInterface({input: process.stdin}).on('line', (line) => {"
        "  const cases = JSON.parse(line);"
        "  const answers = cases.map(([p, t]) => new RegExp('^(?:' + p + ')$', 'u').test(t));"
        "  process.stdout.write(JSON.stringify(answers) + '\\n');"
        "});"
    )
    node = subprocess.Popen(["node", "-e", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert node.stdin is not None and node.stdout is not None

    def ask(cases: list[list[str]]) -> list[bool]:
        assert node.stdin is not None and node.stdout is not None
        node.stdin.write(json.dumps(cases) + "\n")  # ASCII JSON: no line terminator inside
        node.stdin.flush()
        return list(json.loads(node.stdout.readline()))

    yield ask
    node.stdin.close()
    node.wait()


# Patterns whose meaning differs between re and ECMA-262: $, ., the class escapes, boundaries; and the models file's
# key pattern.
ECMA_PATTERNS = [
    r"a$",
    r"^a|b$",
    r"(^a|b)*",
    "x*$\n*$",
    r"$",
    r"^$",
    r"[a-c]+$",
    "(?:$|a)*\n?",
    "a$\n",
    r".",
    r".*",
    r"\s",
    r"\S",
    r"\d",
    r"\D",
    r"\w",
    r"\W",
    r"[\s._:/=+@-]*",
    r"[^\s]+",
    r"\ba.?",
    r".?\B.",
    r"\b",
    r"\B",
    r"\B.?",
    KEY_PATTERN,
]
# Characters that re and ECMA-262 class differently (line terminators, white space, digits, word characters).
ECMA_CHARACTERS = "a1_ \n\r\t\v\x1c\x1f\x85\xa0\u2028\u2029\ufeff\u3000\u0661\xe9"


def test_with_ecma_patterns_answer_as_javascript(javascript):
    """JSON Schema's patterns and the service model's (Smithy's pattern trait) are ECMA-262's: every text of up to
    two characters of ECMA_CHARACTERS, and three of "ab\\n"."""
    texts = ["".join(chars) for size in range(3) for chars in itertools.product(ECMA_CHARACTERS, repeat=size)]
    texts += ["".join(chars) for chars in itertools.product("ab\n", repeat=3)]
    cases = [[pattern, text] for pattern in ECMA_PATTERNS for text in texts]
    theirs = javascript(cases)
    ours = [patterns.fullmatch(pattern, text, ecma=True) for pattern, text in cases]
    assert [case for case, mine, answer in zip(cases, ours, theirs, strict=True) if mine != answer] == []
    assert theirs.count(True) > 0 and theirs.count(False) > 0
    assert any(patterns.fullmatch(pattern, text) != mine for (pattern, text), mine in zip(cases, ours, strict=True))


@pytest.mark.parametrize("pattern", READABLE)
@settings(PER_PATTERN, max_examples=10)
@given(data=st.data())
def test_with_ecma_every_service_model_pattern_answers_as_javascript(javascript, pattern, data):
    """A text the pattern matches (hypothesis's from_regex), with a character that re and ECMA-262 class differently
    put in or in place of one of its characters."""
    # Cut as for re: Node's RegExp backtracks too.
    text = data.draw(st.from_regex(pattern, fullmatch=True), label="text")[: _re_bound(pattern) - 1]
    position = data.draw(st.integers(0, len(text)), label="position")
    character = data.draw(st.sampled_from(ECMA_CHARACTERS), label="character")
    cases = [[pattern, text], [pattern, text[:position] + character + text[position:]]]
    cases.append([pattern, text[:position] + character + text[position + 1 :]])
    assert [patterns.fullmatch(p, t, ecma=True) for p, t in cases] == javascript(cases), cases


def test_with_ecma_categories_and_the_dot_accept_what_javascript_accepts():
    """\\d, \\s, \\w and . over all of Unicode but the surrogates, against Node's RegExp: the code points each
    accepts (the dot: those it refuses)."""
    script = (
        "const out = {};"
        "for (const [name, re, accepting] of [['d', /^\\d$/u, true], ['s', /^\\s$/u, true], ['w', /^\\w$/u, true],"
        " ['dot', /^.$/u, false]]) {"
        "  out[name] = [];"
        "  for (let cp = 0; cp <= 0x10ffff; cp++) {"
        "    if (cp >= 0xd800 && cp <= 0xdfff) continue;"
        "    if (re.test(String.fromCodePoint(cp)) === accepting) out[name].push(cp);"
        "  }"
        "}"
        "process.stdout.write(JSON.stringify(out));"
    )
    javascript = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)
    characters = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
    for name, category in (("d", "DIGIT"), ("s", "SPACE"), ("w", "WORD")):
        test = patterns._category(getattr(patterns._sre, f"CATEGORY_{category}"), patterns._ECMA)
        assert [ord(char) for char in characters if test(char)] == javascript[name], name
    dot = patterns.compile(".", ecma=True)
    assert [ord(char) for char in characters if not dot.fullmatch(char)] == javascript["dot"]


EVERY_CODE_POINT = "".join(map(chr, range(sys.maxunicode + 1)))
# The negations are checked on fewer code points: they are the positive tests negated.
SOME_CODE_POINTS = EVERY_CODE_POINT[:0x3000] + EVERY_CODE_POINT[0x3000::17]


@pytest.mark.parametrize(
    ("category", "escape"),
    [
        ("DIGIT", r"\d"),
        ("SPACE", r"\s"),
        ("WORD", r"\w"),
        ("NOT_DIGIT", r"\D"),
        ("NOT_SPACE", r"\S"),
        ("NOT_WORD", r"\W"),
    ],
)
@pytest.mark.parametrize("ascii", [False, True], ids=["unicode", "ascii"])
def test_categories_accept_what_re_accepts(category, escape, ascii):
    """\\d, \\s, \\w over all of Unicode (surrogates included), and their negations; white-box, as calling the
    matcher once per code point would take long."""
    characters = SOME_CODE_POINTS if category.startswith("NOT_") else EVERY_CODE_POINT
    expected = re.findall(escape, characters, flags=re.ASCII if ascii else 0)
    dialect = patterns._ASCII if ascii else patterns._UNICODE
    test = patterns._category(getattr(patterns._sre, f"CATEGORY_{category}"), dialect)
    assert list(filter(test, characters)) == expected


# --- linear time, counted ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", READABLE)
def test_work_is_linear_in_the_text_up_to_ten_times_the_maximum_length(pattern):
    for length in (MAX_LENGTHS[pattern], 10 * MAX_LENGTHS[pattern]):
        for text in adversarial_texts(length):
            _matched, work = patterns.Pattern(pattern).run(text)
            assert work <= WORK_PER_CHARACTER * (len(text) + 1), (pattern, text[:80], len(text), work)


@pytest.mark.parametrize("hyphens", [38, 100, 1_000, 9_998, 99_998])
def test_the_job_name_case_is_answered_right_in_linear_work(hyphens):
    matcher = patterns.Pattern(JOB_NAME)
    bad, good = "a" + "-" * hyphens + "_", "a" + "-" * hyphens + "b"
    assert matcher.run(bad)[0] is False
    assert matcher.run(good)[0] is True
    # Warm now: one unit per character and one for the end. (The pattern has no assertion to evaluate.)
    assert matcher.run(bad) == (False, WARM_WORK_PER_CHARACTER * (len(bad) + 1))
    assert matcher.run(good) == (True, WARM_WORK_PER_CHARACTER * (len(good) + 1))


def test_the_job_name_case_of_40_and_10000_characters():
    assert len("a" + "-" * 38 + "_") == 40
    assert patterns.fullmatch(JOB_NAME, "a" + "-" * 38 + "_") is False
    assert patterns.fullmatch(JOB_NAME, "a" + "-" * 9_998 + "_") is False
    assert patterns.fullmatch(JOB_NAME, "a" + "-" * 9_998 + "+") is True
    assert patterns.fullmatch(JOB_NAME, "-" + "a" * 9_999) is False


def test_memoized_states_are_bounded_whatever_the_texts():
    """A text of all distinct characters makes a new transition per character: past the bound, they are
    computed and not kept, and the answers stay right."""
    matcher = patterns.Pattern(r"[^!]+")
    text = "".join(chr(0x4E00 + i) for i in range(3 * patterns.MAX_MEMOIZED))
    assert matcher.fullmatch(text) is True
    assert matcher.fullmatch(text + "!") is False
    assert matcher._memoized <= patterns.MAX_MEMOIZED
