"""Each in-process Lambda invocation sees its own environment, as each execution environment has its own.

The handlers read ``os.environ`` (and crhelper ``os.getenv``). Setting and restoring the process's variables
around each invocation races with every other thread that reads them (an iteration of ``os.environ`` fails with
a KeyError when an invocation removes a variable meanwhile), and two invocations at once would see each other's.
Instead, ``os.environ`` is replaced once by ``InvocationEnviron``: inside ``invocation_environment(variables)``
it is that invocation's own copy (the process's variables, then the function's and the runtime's), found
through a ContextVar; everywhere else it is the process's environment, unchanged. A thread started during an
invocation starts outside it, as contextvars do not follow new threads.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

__all__ = ["InvocationEnviron", "install", "invocation_environment"]

_current: ContextVar[dict[str, str] | None] = ContextVar("rehearsal_invocation_environment", default=None)
_install_lock = threading.Lock()


class InvocationEnviron(os._Environ[str]):
    """os.environ: the current invocation's variables inside one, the process's (putenv included) outside."""

    def __init__(self, process: os._Environ[str]) -> None:
        # The process's own mapping and codecs: outside invocations this behaves as os.environ always did.
        super().__init__(
            process._data,  # type: ignore[attr-defined]
            process.encodekey,
            process.decodekey,
            process.encodevalue,
            process.decodevalue,
        )

    def __getitem__(self, key: str) -> str:
        own = _current.get()
        return super().__getitem__(key) if own is None else own[key]

    def __setitem__(self, key: str, value: str) -> None:
        own = _current.get()
        if own is None:
            super().__setitem__(key, value)
            return
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"str expected, not {type(key if not isinstance(key, str) else value).__name__}")
        own[key] = value

    def __delitem__(self, key: str) -> None:
        own = _current.get()
        if own is None:
            super().__delitem__(key)
        else:
            del own[key]

    def __iter__(self) -> Iterator[str]:
        own = _current.get()
        return super().__iter__() if own is None else iter(list(own))

    def __len__(self) -> int:
        own = _current.get()
        return super().__len__() if own is None else len(own)

    def copy(self) -> dict[str, str]:
        return dict(self)


def install() -> None:
    """Replace os.environ by an InvocationEnviron, once for the process (idempotent, thread-safe)."""
    with _install_lock:
        if not isinstance(os.environ, InvocationEnviron):
            # Replaces the mapping object, keeping every variable (B003 warns of the opposite intent).
            os.environ = InvocationEnviron(os.environ)  # noqa: B003


@contextlib.contextmanager
def invocation_environment(variables: Mapping[str, object]) -> Iterator[None]:
    """For the block, on this thread, os.environ is the process's variables overlaid with these, and writes stay
    in the block."""
    install()
    token = _current.set({**os.environ, **{str(name): str(value) for name, value in variables.items()}})
    try:
        yield
    finally:
        _current.reset(token)
