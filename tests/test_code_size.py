"""Size limits of the library, the handler and the rehearsal: no class over 250 lines and no function over 60,
so that each piece of logic stays small enough to read and change.

A function's lines are its body's, from its first statement after the docstring to its last line: its signature
and docstring are the table of its parameters and their ``@default``s (a construct's take twenty to fifty lines,
as aws-cdk-lib documents props), and tables do not count, nor does module-level data. A class's lines include
everything in it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHECKED = [
    REPO / "constructs" / "cdk_bedrock_customization",
    REPO / "lambda" / "bedrock_custom_resource",
    REPO / "lambda" / "bedrock_single_function",
]
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60


def _oversized() -> Iterator[str]:
    for root in CHECKED:
        for path in sorted(root.rglob("*.py")):
            if "botocore_data" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                first = node if isinstance(node, ast.ClassDef) else _first_statement(node)
                lines = (node.end_lineno or node.lineno) - first.lineno + 1
                limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
                if lines > limit:
                    kind = "class" if isinstance(node, ast.ClassDef) else "def"
                    yield f"{path.relative_to(REPO)}:{node.lineno} {kind} {node.name}: {lines} lines"


def _first_statement(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.stmt:
    first = node.body[0]
    docstring = (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    return node.body[1] if docstring and len(node.body) > 1 else first


def test_no_class_or_function_is_over_its_limit() -> None:
    assert list(_oversized()) == []


def test_the_check_finds_an_oversized_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = "\n".join(f"    x{index} = {index}" for index in range(MAX_FUNCTION_LINES + 1))
    (tmp_path / "long.py").write_text(f"def long(\n    a,\n    b,\n):\n{body}\n")
    monkeypatch.setattr(f"{__name__}.CHECKED", [tmp_path])
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    assert list(_oversized()) == [f"long.py:1 def long: {MAX_FUNCTION_LINES + 1} lines"]


def test_a_signature_and_docstring_do_not_count_but_a_class_body_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docstring = '    """' + "\n".join("    a parameter" for _ in range(MAX_FUNCTION_LINES)) + '"""'
    body = "\n".join(f"    x{index} = {index}" for index in range(MAX_FUNCTION_LINES))
    methods = "\n".join(f"    def m{index}(self):\n        pass" for index in range(MAX_CLASS_LINES // 2))
    (tmp_path / "sized.py").write_text(f"def documented():\n{docstring}\n{body}\n\n\nclass Big:\n{methods}\n")
    monkeypatch.setattr(f"{__name__}.CHECKED", [tmp_path])
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    class_line = 1 + MAX_FUNCTION_LINES + MAX_FUNCTION_LINES + 3  # def, docstring, body, two blank lines
    assert list(_oversized()) == [f"sized.py:{class_line} class Big: {MAX_CLASS_LINES + 1} lines"]
