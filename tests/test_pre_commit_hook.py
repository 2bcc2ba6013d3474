"""The pre-commit hook validates the files the README names, and not the schema it tells you to write beside them.
pre-commit selects a file when re.search finds the hook's `files` in its path and not its `exclude`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

(HOOK,) = YAML(typ="safe").load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())


def selected(path: str) -> bool:
    return bool(re.search(HOOK["files"], path)) and not re.search(HOOK.get("exclude", "^$"), path)


@pytest.mark.parametrize(
    ("path", "validated"),
    [
        ("models.yaml", True),
        ("infra/models-prod.yml", True),
        ("models.json", True),
        ("models.schema.json", False),
        ("infra/models.schema.json", False),
        ("infra/other.yaml", False),
        ("infra/mymodels.yaml", False),
    ],
)
def test_the_hook_validates_models_files_and_not_their_schema(path, validated):
    assert selected(path) is validated
