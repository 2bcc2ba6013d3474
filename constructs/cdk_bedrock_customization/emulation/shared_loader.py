"""Speed only: botocore sessions with the same data path share one Loader.

The handler builds a new botocore session for every client, and each session re-reads and re-parses the
service list, endpoints and the bundled service model (~0.1 s). Sharing the Loader per data path, as the
clients of one session always do, changes nothing that the clients load (the key is the data path, so
the handler's bundled model is still the one loaded).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import botocore.session

from .patches import patched


@contextlib.contextmanager
def shared_botocore_loader() -> Iterator[None]:
    loaders: dict[str | None, Any] = {}
    original = botocore.session.create_loader

    def shared(search_path_string: str | None = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    with patched() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        yield
