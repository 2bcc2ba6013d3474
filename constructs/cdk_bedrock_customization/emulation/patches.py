"""Attribute patches that are undone together, for emulation code that ships (pytest's MonkeyPatch is a test
dependency): ``setattr`` has MonkeyPatch's signature, so either can be given where a patcher is expected."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol
from unittest import mock


class Patcher(Protocol):
    def setattr(self, target: Any, name: str, value: Any) -> None: ...


class Patches:
    """Patches made with ``setattr`` until ``undo`` (or the end of ``patched()``)."""

    def __init__(self) -> None:
        self._undo = contextlib.ExitStack()

    def setattr(self, target: Any, name: str, value: Any) -> None:
        self._undo.enter_context(mock.patch.object(target, name, value))

    def undo(self) -> None:
        self._undo.close()


@contextlib.contextmanager
def patched() -> Iterator[Patches]:
    patches = Patches()
    try:
        yield patches
    finally:
        patches.undo()
