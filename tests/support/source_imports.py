"""What a Python source file imports, read from its syntax tree (nothing is run)."""

from __future__ import annotations

import ast
from pathlib import Path


def imported_roots(source: Path) -> set[str]:
    """The top-level packages a module imports absolutely (relative imports are its own package)."""
    roots = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots
