"""Prints each dependency that the wheel and its rehearse and plot extras declare, pinned at its lower bound: what
`make test-lowest` installs, so that a bound the library does not work at fails there."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
EXTRAS = ("rehearse", "plot")


def declared(extras: tuple[str, ...] = EXTRAS) -> list[Requirement]:
    """The project's dependencies and those of the extras."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    texts = [*project["dependencies"], *(text for extra in extras for text in project["optional-dependencies"][extra])]
    return [Requirement(text) for text in texts]


def lower_bound(requirement: Requirement) -> str:
    """The version a ">=" or "==" specifier names; a dependency without one declares no version it was tried at."""
    bounds = [spec.version for spec in requirement.specifier if spec.operator in (">=", "==")]
    if len(bounds) != 1:
        raise SystemExit(f"pyproject.toml: {requirement} has no single lower bound (>= or ==)")
    return bounds[0]


def main() -> None:
    for requirement in declared():
        sys.stdout.write(f"{requirement.name}=={lower_bound(requirement)}\n")


if __name__ == "__main__":
    main()
