"""What the wheel ships runs without the test tools: no module of it imports pytest, hypothesis, syrupy or
the tests; and the emulation's own patcher undoes what it patched, as pytest's MonkeyPatch does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cdk_bedrock_customization.emulation.patches import Patches, patched

from tests.support.source_imports import imported_roots

REPO = Path(__file__).resolve().parent.parent
SHIPPED = [REPO / "constructs" / "cdk_bedrock_customization", REPO / "lambda"]
TEST_ONLY = {"pytest", "hypothesis", "syrupy", "tests", "_pytest"}


@pytest.mark.parametrize(
    "path",
    sorted(path for root in SHIPPED for path in root.rglob("*.py")),
    ids=lambda path: str(path.relative_to(REPO)),
)
def test_shipped_modules_import_no_test_tool(path):
    assert imported_roots(path) & TEST_ONLY == set()


def test_the_check_sees_an_import_of_pytest(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("import os\nfrom pytest import fixture\n")
    assert imported_roots(module) & TEST_ONLY == {"pytest"}


class Target:
    value = "original"


def test_patches_are_undone_together():
    other = Target()
    other.value = "own"
    with patched() as patches:
        patches.setattr(Target, "value", "patched")
        patches.setattr(other, "value", "patched too")
        assert (Target.value, other.value) == ("patched", "patched too")
    assert (Target.value, other.value) == ("original", "own")


def test_undo_restores_after_an_error():
    patches = Patches()
    patches.setattr(Target, "value", "patched")
    try:
        raise RuntimeError("a test failed")
    except RuntimeError:
        patches.undo()
    assert Target.value == "original"


def test_environment_patches_are_undone(monkeypatch):
    monkeypatch.setenv("PATCHES_SET", "before")
    monkeypatch.setenv("PATCHES_REMOVED", "present")
    monkeypatch.delenv("PATCHES_ABSENT", raising=False)
    with patched() as patches:
        patches.setenv("PATCHES_SET", "during")
        patches.delenv("PATCHES_REMOVED")
        patches.delenv("PATCHES_ABSENT")  # not set: nothing to do
        assert os.environ["PATCHES_SET"] == "during"
        assert "PATCHES_REMOVED" not in os.environ
    assert os.environ["PATCHES_SET"] == "before"
    assert os.environ["PATCHES_REMOVED"] == "present"
    assert "PATCHES_ABSENT" not in os.environ
