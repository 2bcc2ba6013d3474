"""What the wheel's code imports is what pyproject.toml declares: an installed wheel brings its dependencies, and
an extra's command (rehearse, plot) runs with that extra alone. The wheel test installs the wheel over this
checkout's environment, which holds the dev tools too, so it cannot see an import that no requirement brings."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tests.lowest.lowest_requirements import declared
from tests.support.source_imports import imported_roots

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "constructs" / "cdk_bedrock_customization"
FIRST_PARTY = {"cdk_bedrock_customization", "bedrock_custom_resource", "bedrock_single_function"}
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# Code that runs only with an extra installed: the extras it may use besides the project's dependencies.
EXTRA_CODE = {"rehearsal": ("rehearse",), "emulation": ("rehearse",), "loss_curves.py": ("plot",)}


def _distribution(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name.group()).lower()


def _declared(extras: tuple[str, ...]) -> set[str]:
    return {_distribution(requirement.name) for requirement in declared(extras)}


def _extras_of(path: Path) -> tuple[str, ...]:
    relative = path.relative_to(PACKAGE).parts
    return EXTRA_CODE.get(relative[0], ())


def test_every_third_party_import_of_the_shipped_code_is_declared_where_it_runs():
    distributions = importlib.metadata.packages_distributions()
    undeclared = []
    for path in sorted(PACKAGE.rglob("*.py")):
        declared = _declared(_extras_of(path))
        for module in sorted(imported_roots(path) - set(sys.stdlib_module_names) - FIRST_PARTY):
            providers = {_distribution(name) for name in distributions.get(module, [module])}
            if not providers & declared:
                undeclared.append(f"{path.relative_to(REPO)}: {module} ({', '.join(sorted(providers))})")
    assert undeclared == []


@pytest.mark.parametrize("extra", sorted(set(PROJECT["optional-dependencies"]) - {"dev"}))
def test_each_extra_is_what_some_shipped_code_needs(extra):
    """The check above can fail: each extra names code that uses it."""
    assert any(extra in extras for extras in EXTRA_CODE.values())
