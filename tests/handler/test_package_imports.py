"""The handler is the Lambda asset as it is: it may import only the standard library, boto3,
botocore and itself (relatively), or the deployed function would fail to import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import bedrock_custom_resource

PACKAGE = Path(bedrock_custom_resource.__file__).parent
ALLOWED = set(sys.stdlib_module_names) | {"boto3", "botocore"}


def imported_roots(source: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_handler_modules_import_only_the_standard_library_boto3_botocore_and_themselves():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 5
    outside = {str(m.name): sorted(imported_roots(m) - ALLOWED) for m in modules}
    assert {name: roots for name, roots in outside.items() if roots} == {}


def test_the_check_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("import yaml\nfrom aws_cdk import Stack\nfrom . import contract\n")
    assert imported_roots(module) - ALLOWED == {"yaml", "aws_cdk"}
