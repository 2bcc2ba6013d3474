"""Prints each dependency that the wheel and its rehearse and plot extras declare, pinned at its lower bound (with
--tools, each of the dev extra's TOOLS): what `make test-lowest` installs, so that a bound the library, or its lint,
type check or tests, does not work at fails there."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
EXTRAS = ("rehearse", "plot")
# The dev extra's tools that make test-lowest runs: its test runner and plugins, the linter, the type checker and
# its stubs.
TOOLS = ("pytest", "hypothesis", "syrupy", "ruff", "mypy", "boto3-stubs", "types-jsonschema")


def declared(extras: tuple[str, ...] = EXTRAS) -> list[Requirement]:
    """The project's dependencies and those of the extras."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    texts = [*project["dependencies"], *(text for extra in extras for text in project["optional-dependencies"][extra])]
    return [Requirement(text) for text in texts]


def declared_tools() -> list[Requirement]:
    """The dev extra's TOOLS."""
    return [requirement for requirement in declared(("dev",)) if requirement.name in TOOLS]


def lower_bound(requirement: Requirement) -> str:
    """The version a ">=" or "==" specifier names; a dependency without one declares no version it was tried at."""
    bounds = [spec.version for spec in requirement.specifier if spec.operator in (">=", "==")]
    if len(bounds) != 1:
        raise SystemExit(f"pyproject.toml: {requirement} has no single lower bound (>= or ==)")
    return bounds[0]


def main() -> None:
    for requirement in declared_tools() if sys.argv[1:] == ["--tools"] else declared():
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        sys.stdout.write(f"{requirement.name}{extras}=={lower_bound(requirement)}\n")


if __name__ == "__main__":
    main()
