"""Attribute patches that are undone together, for emulation code that ships (pytest's MonkeyPatch is a test
dependency): ``setattr`` has MonkeyPatch's signature, so either can be given where a patcher is expected."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, Protocol
from unittest import mock


class Patcher(Protocol):
    def setattr(self, target: Any, name: str, value: Any) -> None: ...


class Patches:
    """Patches made with ``setattr`` (and environment variables set or removed) until ``undo``, or the end of
    ``patched()``."""

    def __init__(self) -> None:
        self._undo = contextlib.ExitStack()

    def setattr(self, target: Any, name: str, value: Any) -> None:
        self._undo.enter_context(mock.patch.object(target, name, value))

    def setenv(self, name: str, value: str) -> None:
        self._undo.enter_context(mock.patch.dict(os.environ, {name: value}))

    def delenv(self, name: str) -> None:
        """Remove the variable, if set, until undone."""
        if name in os.environ:
            self._undo.enter_context(mock.patch.dict(os.environ))
            del os.environ[name]

    def undo(self) -> None:
        self._undo.close()


@contextlib.contextmanager
def patched() -> Iterator[Patches]:
    patches = Patches()
    try:
        yield patches
    finally:
        patches.undo()
