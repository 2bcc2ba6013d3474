"""Texts that make regex matchers work hard, shared by the linear-time tests and `make bench`."""

from __future__ import annotations

from collections.abc import Iterator

ARN_PREFIX = "arn:aws:bedrock:us-east-1:123456789012:"


def adversarial_texts(length: int) -> Iterator[str]:
    """Texts of this length that make backtracking matchers, or matchers with many live threads, work hard: the
    job name's case, runs of one character that many classes accept with a bad last character, alternating
    near-matches, an ARN's prefix followed by those, and distinct characters (no two alike, so no step repeats)."""
    yield "a" + "-" * (length - 2) + "_"
    for character in "a-.0":
        yield character * (length - 1) + "!"
    yield ("a-" * length)[: length - 1] + "_"
    yield ("a." * length)[: length - 1] + "!"
    yield ARN_PREFIX + ("a-" * length)[: max(length - len(ARN_PREFIX) - 1, 0)] + "_"
    yield "".join(chr(0x4E00 + i) for i in range(length))
