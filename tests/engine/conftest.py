"""The engine test runs only when asked for with `-m engine` (`make test-engine`; tests/conftest.py deselects it
otherwise): it needs ministack's own virtual environment (MINISTACK_PYTHON), the npm registry and a few minutes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.engine import Engine, engine

# Seconds each emulated job, import, deployment or throughput takes: long enough that every one is polled at least
# once (the single function checks at once after creating), short enough for the 5-minute budget.
JOB_SECONDS = 2.0
DOOMED = "Doomed"  # the app's failing job (engine_app.DOOMED)


@pytest.fixture(scope="module")
def running_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    python = os.environ.get("MINISTACK_PYTHON")
    if not python or not Path(python).exists():
        pytest.fail("MINISTACK_PYTHON must name the python of ministack's virtual environment: run `make test-engine`")
    with engine(Path(python), tmp_path_factory.mktemp("engine"), JOB_SECONDS, DOOMED) as running:
        yield running
