"""The cloud assemblies that the local deployment tests deploy, synthesized once."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.__main__ import EXAMPLE_UPDATE
from cdk_bedrock_customization.rehearsal.cloud import synthesize

from .rehearsal_support import APP_UNDER_TEST, COMMITTED, REPO, SINGLE_FUNCTION


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every cloud assembly the tests deploy, synthesized once, two at a time."""
    root = tmp_path_factory.mktemp("assemblies")
    example = f"{sys.executable} {REPO / 'app.py'}"
    under_test = f"{sys.executable} {APP_UNDER_TEST}"
    variants: dict[str, tuple[str, Mapping[str, Any]]] = {
        "example": (example, {}),
        "example-updated": (example, EXAMPLE_UPDATE),
        "two-destroyable": (under_test, {"models": 2, "removal": "retain_on_update_or_delete"}),
        "polling": (under_test, {"completion": "polling", "removal": "destroy"}),
        "event-driven": (under_test, {"removal": "destroy"}),
        "five": (under_test, {"models": 5, "removal": "destroy"}),
        "provider-of-another-stack": (under_test, {"models": 3, "removal": "destroy", "separate_provider": True}),
        "single-function": (under_test, SINGLE_FUNCTION),
        "single-function-updated": (under_test, {**SINGLE_FUNCTION, "epochs": 2}),
        "committed": (under_test, COMMITTED),
        "committed-more-units": (under_test, {**COMMITTED, "committed_units": 2}),
        "committed-retrained-more-units": (under_test, {**COMMITTED, "committed_units": 2, "epochs": 2}),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(synthesize, app, root / name, context) for name, (app, context) in variants.items()
        }
        return {name: future.result() for name, future in futures.items()}
