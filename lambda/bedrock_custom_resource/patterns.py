"""Full matching of regular expressions in time linear in the text, with the answers of re.fullmatch.

Python's re backtracks, and some of the service model's patterns take exponential time on short names
(the job name's ``[a-zA-Z0-9](-*[a-zA-Z0-9\\+\\-\\.])*`` on "a" + 40 hyphens + "_"). Here the pattern is
read by the standard library's own parser and run as an automaton (Thompson's construction), one step
per character over the set of its live states; each set met is memoized as a state of a lazily built DFA.

Whether a text matches as a whole does not depend on the order re tries alternatives in, so greedy and
lazy repeats, alternation and groups need no backtracking. Backreferences, lookarounds, atomic groups,
possessive repeats and conditional groups do: compiling them raises PatternUnsupported, as does
case-insensitive matching (left out: re's case folding has its own tables). A pattern re cannot read
raises re.error, as re.compile does.

With ecma, a pattern means what it means in ECMA-262 (with the u flag), as the service model's patterns (Smithy's
pattern trait) and JSON Schema's do: \\d is [0-9] and \\w [A-Za-z0-9_] (re's are Unicode's), \\s is ECMA's white
space and line terminators (re's differs by a few code points), . matches no line terminator (\\n, \\r, U+2028,
U+2029; re's only \\n), and $ holds only at the end of the text (re's also before a final newline).
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


def _stdlib_parser() -> tuple[ModuleType, ModuleType]:
    try:
        return importlib.import_module("re._parser"), importlib.import_module("re._constants")
    except ImportError:  # before Python 3.11
        return importlib.import_module("sre_parse"), importlib.import_module("sre_constants")


_parser, _sre = _stdlib_parser()

# Repeats are unrolled ({1,63} is 63 copies): beyond this many instructions a pattern is refused.
MAX_INSTRUCTIONS = 50_000
# Memoized DFA states and transitions per pattern; beyond, they are computed again on each use, so
# memory stays bounded whatever texts are matched (time stays linear either way).
MAX_MEMOIZED = 5_000

_CHAR, _SPLIT, _ASSERT, _MATCH = range(4)
_UNSUPPORTED = {
    "GROUPREF": "a backreference",
    "GROUPREF_EXISTS": "a conditional group",
    "ASSERT": "a lookahead or lookbehind",
    "ASSERT_NOT": "a negative lookahead or lookbehind",
    "ATOMIC_GROUP": "an atomic group",
    "POSSESSIVE_REPEAT": "a possessive repeat",
}

CharTest = Callable[[str], bool]
Assertion = Callable[[str, int], bool]


def _nothing(_char: str) -> bool:
    return False


class PatternUnsupported(ValueError):
    """A pattern that cannot be matched in linear time here; check it some other way, or not at all."""


@dataclass(slots=True)
class _Instruction:
    kind: int
    targets: list[int]
    test: CharTest = _nothing  # _CHAR: the characters it consumes
    assertion: int = -1  # _ASSERT: its index in the pattern's assertions


@dataclass(slots=True)
class _State:
    """A DFA state: the character instructions of the live threads, and whether one has matched."""

    chars: tuple[int, ...]
    accepting: bool
    # By character, and by which assertions hold after it when the pattern has any.
    next: dict[str | tuple[str, tuple[bool, ...]], _State] = field(default_factory=dict)


def _is_ascii_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _is_ascii_space(char: str) -> bool:
    return char in " \t\n\r\f\v"


def _is_ascii_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


# ECMA-262's line terminators, and its white space besides Unicode's space separators (Zs).
_ECMA_LINE_TERMINATORS = "\n\r\u2028\u2029"
_ECMA_WHITE_SPACE = "\t\v\f\ufeff"


def _is_ecma_space(char: str) -> bool:
    return char in _ECMA_LINE_TERMINATORS or char in _ECMA_WHITE_SPACE or unicodedata.category(char) == "Zs"


# What each category tests: as _sre does, Unicode's (str.isdecimal, isspace, isalnum) or ASCII's with re.ASCII; and
# as ECMA-262 does.
_UNICODE, _ASCII, _ECMA = range(3)
_CATEGORIES: dict[str, tuple[CharTest, CharTest, CharTest]] = {
    "DIGIT": (str.isdecimal, _is_ascii_digit, _is_ascii_digit),
    "SPACE": (str.isspace, _is_ascii_space, _is_ecma_space),
    "WORD": (_is_word, _is_ascii_word, _is_ascii_word),
}


def _dialect(flags: int, ecma: bool) -> int:
    return _ECMA if ecma else _ASCII if flags & _sre.SRE_FLAG_ASCII else _UNICODE


def _category(code: Any, dialect: int) -> CharTest:
    name = code.name.removeprefix("CATEGORY_")
    test = _CATEGORIES.get(name.removeprefix("NOT_"))
    if test is None:
        raise PatternUnsupported(f"the category {code.name}")
    positive = test[dialect]
    return (lambda char: not positive(char)) if name.startswith("NOT_") else positive


def _class_item(kind: Any, value: Any, dialect: int) -> CharTest:
    if kind is _sre.LITERAL:
        return chr(value).__eq__
    if kind is _sre.RANGE:
        low, high = value
        return lambda char: low <= ord(char) <= high
    if kind is _sre.CATEGORY:
        return _category(value, dialect)
    raise PatternUnsupported(f"{kind.name} in a character class")


def _is_not_ecma_line_terminator(char: str) -> bool:
    return char not in _ECMA_LINE_TERMINATORS


def _char_test(op: Any, value: Any, flags: int, ecma: bool) -> CharTest:
    if flags & _sre.SRE_FLAG_IGNORECASE:
        raise PatternUnsupported("case-insensitive matching")
    if op is _sre.LITERAL:
        return chr(value).__eq__
    if op is _sre.NOT_LITERAL:
        return chr(value).__ne__
    if op is _sre.ANY and flags & _sre.SRE_FLAG_DOTALL:
        return lambda char: True
    if op is _sre.ANY:
        return _is_not_ecma_line_terminator if ecma else "\n".__ne__
    negate = bool(value) and value[0][0] is _sre.NEGATE
    dialect = _dialect(flags, ecma)
    tests = [_class_item(kind, item, dialect) for kind, item in value if kind is not _sre.NEGATE]
    return lambda char: any(test(char) for test in tests) != negate


# Before Python 3.14, _sre holds neither \b nor \B in an empty text; from 3.14 (gh-124130; Lambda's python3.14
# runs this code) \B holds there, as in ECMA-262.
_SRE_B_HOLDS_IN_EMPTY_TEXT = re.fullmatch(r"\B", "") is not None


def _boundary(is_word: CharTest, expected: bool, ecma: bool) -> Assertion:
    def holds(text: str, index: int) -> bool:
        if not text and not ecma and not _SRE_B_HOLDS_IN_EMPTY_TEXT:
            return False
        before = index > 0 and is_word(text[index - 1])
        after = index < len(text) and is_word(text[index])
        return (before != after) == expected

    return holds


def _assertion(code: Any, flags: int, ecma: bool) -> tuple[tuple[Any, ...], Assertion]:
    """A key that identifies the assertion, and whether it holds at a position of a text, as in _sre (or ECMA-262)."""
    multiline = bool(flags & _sre.SRE_FLAG_MULTILINE)
    line_ends = _ECMA_LINE_TERMINATORS if ecma else "\n"
    if code is _sre.AT_BEGINNING_STRING or (code is _sre.AT_BEGINNING and not multiline):
        return ("start",), lambda text, i: i == 0
    if code is _sre.AT_BEGINNING:
        return ("line start", line_ends), lambda text, i: i == 0 or text[i - 1] in line_ends
    if code is _sre.AT_END_STRING or (code is _sre.AT_END and ecma and not multiline):
        return ("end",), lambda text, i: i == len(text)
    if code is _sre.AT_END and multiline:
        return ("line end", line_ends), lambda text, i: i == len(text) or text[i] in line_ends
    if code is _sre.AT_END:  # $ also holds before a final newline
        return ("end or final newline",), lambda text, i: i == len(text) or (i == len(text) - 1 and text[i] == "\n")
    if code in (_sre.AT_BOUNDARY, _sre.AT_NON_BOUNDARY):
        expected, dialect = code is _sre.AT_BOUNDARY, _dialect(flags, ecma)
        return ("boundary", expected, dialect), _boundary(_CATEGORIES["WORD"][dialect], expected, ecma)
    raise PatternUnsupported(f"the assertion {code.name}")


class _Compiler:
    """Thompson's construction, built backwards: each node is compiled knowing the instruction that follows."""

    def __init__(self, pattern: str, ecma: bool) -> None:
        self.pattern = pattern
        self.ecma = ecma
        self.program: list[_Instruction] = []
        self.assertions: dict[tuple[Any, ...], tuple[int, Assertion]] = {}
        self.tests: dict[tuple[Any, ...], CharTest] = {}

    def emit(self, instruction: _Instruction) -> int:
        if len(self.program) >= MAX_INSTRUCTIONS:
            raise PatternUnsupported(f"{self.pattern!r}: more than {MAX_INSTRUCTIONS} instructions once unrolled")
        self.program.append(instruction)
        return len(self.program) - 1

    def sequence(self, items: Any, flags: int, following: int) -> int:
        for op, value in reversed(getattr(items, "data", items)):  # a SubPattern's items are its data
            following = self.node(op, value, flags, following)
        return following

    def node(self, op: Any, value: Any, flags: int, following: int) -> int:
        if op in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY, _sre.IN):
            key = (op, tuple(value) if isinstance(value, list) else value, flags)
            test = self.tests.get(key) or self.tests.setdefault(key, _char_test(op, value, flags, self.ecma))
            return self.emit(_Instruction(_CHAR, [following], test=test))
        if op is _sre.BRANCH:
            return self.emit(_Instruction(_SPLIT, [self.sequence(branch, flags, following) for branch in value[1]]))
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, body = value
            return self.sequence(body, (flags | add_flags) & ~del_flags, following)
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):  # greedy or lazy: the same strings match in full
            low, high, body = value
            return self.repeat(low, high, body, flags, following)
        if op is _sre.AT:
            key, holds = _assertion(value, flags, self.ecma)
            index = self.assertions.setdefault(key, (len(self.assertions), holds))[0]
            return self.emit(_Instruction(_ASSERT, [following], assertion=index))
        what = _UNSUPPORTED.get(op.name, op.name)
        raise PatternUnsupported(f"{self.pattern!r}: {what} cannot be matched in linear time")

    def repeat(self, low: int, high: int, body: Any, flags: int, following: int) -> int:
        if high == _sre.MAXREPEAT:
            loop = self.emit(_Instruction(_SPLIT, []))
            self.program[loop].targets = [self.sequence(body, flags, loop), following]
            entry = loop
        else:
            # Optional copies nest, (x(x)?)?, so that skipping one skips the rest in one step.
            entry = following
            for _ in range(high - low):
                entry = self.emit(_Instruction(_SPLIT, [self.sequence(body, flags, entry), following]))
        for _ in range(low):
            entry = self.sequence(body, flags, entry)
        return entry


class Pattern:
    """A compiled pattern; fullmatch answers as re.fullmatch(pattern, text) would (with ecma, as ECMA-262 would)."""

    def __init__(self, pattern: str, ecma: bool = False) -> None:
        parsed = _parser.parse(pattern)
        compiler = _Compiler(pattern, ecma)
        self.pattern = pattern
        self._start = compiler.sequence(parsed, parsed.state.flags, compiler.emit(_Instruction(_MATCH, [])))
        self._program = compiler.program
        self._assertions = [holds for _index, holds in sorted(compiler.assertions.values(), key=lambda a: a[0])]
        self._states: dict[tuple[tuple[int, ...], bool], _State] = {}
        self._starts: dict[tuple[bool, ...], _State] = {}  # one per context at the text's start
        self._tests = [instruction.test for instruction in self._program]
        self._follow_tables: dict[tuple[bool, ...], list[tuple[tuple[int, ...], bool] | None]] = {}
        self._memoized = 0

    @property
    def size(self) -> int:
        """The number of instructions of the automaton."""
        return len(self._program)

    def fullmatch(self, text: str) -> bool:
        return self.run(text)[0]

    def run(self, text: str) -> tuple[bool, int]:
        """Whether the whole text matches, and the work that took: one unit per character and per assertion
        evaluated, plus one per thread advanced and per instruction visited for a transition not memoized."""
        work = [0]
        state = self._initial(self._context(text, 0), work)
        assertions = self._assertions
        context: tuple[bool, ...] = ()  # the same everywhere when the pattern has no assertion
        for index, char in enumerate(text):
            if assertions:
                context = self._context(text, index + 1)
            following = state.next.get((char, context) if assertions else char)
            if following is None:
                if not state.chars:  # no live thread: nothing that follows can match (never memoized)
                    return False, work[0] + (index + 1) * (1 + len(assertions))
                following = self._step(state, char, context, work)
            state = following
        return state.accepting, work[0] + (len(text) + 1) * (1 + len(assertions))

    def _initial(self, context: tuple[bool, ...], work: list[int]) -> _State:
        state = self._starts.get(context)
        if state is None:
            state = self._starts[context] = self._state(*self._closure([self._start], context, work))
        return state

    def _context(self, text: str, index: int) -> tuple[bool, ...]:
        """Which of the pattern's assertions hold at index: a transition depends on these and the character."""
        return tuple(holds(text, index) for holds in self._assertions)

    def _step(self, state: _State, char: str, context: tuple[bool, ...], work: list[int]) -> _State:
        """The state after char, from the threads of state whose instruction accepts it."""
        tests, follows = self._tests, self._follows(context)
        passed: dict[CharTest, bool] = {}  # copies of a class (unrolled repeats) share one test
        chars: set[int] = set()
        accepting = False
        visited = len(state.chars)
        for pc in state.chars:
            test = tests[pc]
            accepted = passed.get(test)
            if accepted is None:
                accepted = passed[test] = test(char)
            if accepted:
                follow = follows[pc] or self._follow(follows, pc, context, work)
                chars.update(follow[0])
                accepting = accepting or follow[1]
                visited += len(follow[0])
        work[0] += visited
        following = self._state(tuple(sorted(chars)), accepting)
        if self._memoized < MAX_MEMOIZED:
            state.next[(char, context) if self._assertions else char] = following
            self._memoized += 1
        return following

    def _follows(self, context: tuple[bool, ...]) -> list[tuple[tuple[int, ...], bool] | None]:
        """What follows each character instruction where the assertions that hold are context: the closure
        of its target (None until needed). At most one table per context, of one entry per instruction."""
        table = self._follow_tables.get(context)
        if table is None:
            table = self._follow_tables[context] = [None] * len(self._program)
        return table

    def _follow(
        self, table: list[tuple[tuple[int, ...], bool] | None], pc: int, context: tuple[bool, ...], work: list[int]
    ) -> tuple[tuple[int, ...], bool]:
        follow = table[pc] = self._closure([self._program[pc].targets[0]], context, work)
        return follow

    def _closure(self, threads: list[int], context: tuple[bool, ...], work: list[int]) -> tuple[tuple[int, ...], bool]:
        """The character instructions reachable from threads without consuming a character, and whether the
        match instruction is."""
        seen: set[int] = set()
        chars: list[int] = []
        accepting = False
        while threads:
            pc = threads.pop()
            if pc in seen:
                continue
            seen.add(pc)
            instruction = self._program[pc]
            if instruction.kind == _CHAR:
                chars.append(pc)
            elif instruction.kind == _MATCH:
                accepting = True
            elif instruction.kind == _SPLIT or context[instruction.assertion]:
                threads.extend(instruction.targets)
        work[0] += len(seen)
        return tuple(sorted(chars)), accepting

    def _state(self, chars: tuple[int, ...], accepting: bool) -> _State:
        """The DFA state of these threads: the same object each time, while memory allows."""
        state = self._states.get((chars, accepting))
        if state is None:
            state = _State(chars, accepting)
            if self._memoized < MAX_MEMOIZED:
                self._states[(chars, accepting)] = state
                self._memoized += 1
        return state


@functools.lru_cache(maxsize=256)
def compile(pattern: str, ecma: bool = False) -> Pattern:  # named as re.compile
    """The pattern compiled (and cached); raises re.error if re cannot read it, PatternUnsupported if it
    cannot be matched in linear time."""
    return Pattern(pattern, ecma)


def fullmatch(pattern: str, text: str, ecma: bool = False) -> bool:
    """re.fullmatch(pattern, text) is not None (with ecma: as ECMA-262 would match), in time linear in len(text)."""
    return compile(pattern, ecma).fullmatch(text)
