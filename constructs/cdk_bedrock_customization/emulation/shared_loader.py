"""Speed only: botocore sessions with the same data path share one Loader, and every session shares what
registering botocore's built-in event handlers works out.

The handler builds a new botocore session for every client, and each session re-reads and re-parses the
service list, endpoints and the bundled service model (~0.1 s). Sharing the Loader per data path, as the
clients of one session always do, changes nothing that the clients load (the key is the data path, so
the handler's bundled model is still the one loaded).

Each new session also registers botocore's ~150 built-in handlers, and for each one inspects the handler's
signature (botocore.compat.accepts_kwargs) and rewrites the event's name through the event aliases
(EventAliaser._alias_event_name): most of a session's start (~15 ms). Both are pure functions of what they are
given (a function object; an event name, for the same aliases), so their answers are kept: every session still
registers every handler, on events of the same names.
"""

from __future__ import annotations

import contextlib
import types
import weakref
from collections.abc import Iterator
from typing import Any

import botocore.hooks
import botocore.session
from botocore.utils import EVENT_ALIASES

from .patches import patched


@contextlib.contextmanager
def shared_botocore_loader() -> Iterator[None]:
    loaders: dict[str | None, Any] = {}
    original = botocore.session.create_loader

    def shared(search_path_string: str | None = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    # Kept per function object (a bound method's function); anything else is inspected every time.
    takes_kwargs: weakref.WeakKeyDictionary[types.FunctionType, Any] = weakref.WeakKeyDictionary()
    accepts_kwargs = botocore.hooks.accepts_kwargs

    def kept_accepts_kwargs(func: Any) -> Any:
        function = getattr(func, "__func__", func)
        if not isinstance(function, types.FunctionType):
            return accepts_kwargs(func)
        if function not in takes_kwargs:
            takes_kwargs[function] = accepts_kwargs(func)
        return takes_kwargs[function]

    # One cache of aliased event names for every aliaser of botocore's own aliases (a new session's, a client's copy).
    aliased_names: dict[str, str] = {}
    aliaser_init = botocore.hooks.EventAliaser.__init__

    def init_sharing_names(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        aliaser_init(self, event_emitter, event_aliases)
        if self._event_aliases == EVENT_ALIASES:
            self._alias_name_cache = aliased_names

    with patched() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        patch.setattr(botocore.hooks, "accepts_kwargs", kept_accepts_kwargs)
        patch.setattr(botocore.hooks.EventAliaser, "__init__", init_sharing_names)
        yield
