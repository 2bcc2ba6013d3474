"""The Lambda assets are the packages as they are: each may import only what its deployed function has, or
the function would fail to import. The handler: the standard library, boto3, botocore and itself
(relatively). The single-function provider: also crhelper and the handler package, which its asset ships."""

from __future__ import annotations

import sys
from pathlib import Path

import bedrock_custom_resource
import bedrock_single_function
import pytest

from tests.support.source_imports import imported_roots

PACKAGE = Path(bedrock_custom_resource.__file__).parent
SINGLE_FUNCTION_PACKAGE = Path(bedrock_single_function.__file__).parent
ALLOWED = set(sys.stdlib_module_names) | {"boto3", "botocore"}
SINGLE_FUNCTION_ALLOWED = ALLOWED | {"crhelper", "bedrock_custom_resource"}


@pytest.mark.parametrize(
    ("package", "allowed", "at_least"),
    [(PACKAGE, ALLOWED, 5), (SINGLE_FUNCTION_PACKAGE, SINGLE_FUNCTION_ALLOWED, 2)],
    ids=["bedrock_custom_resource", "bedrock_single_function"],
)
def test_lambda_packages_import_only_what_their_function_has(package, allowed, at_least):
    modules = sorted(package.glob("*.py"))
    assert len(modules) >= at_least
    outside = {str(m.name): sorted(imported_roots(m) - allowed) for m in modules}
    assert {name: roots for name, roots in outside.items() if roots} == {}


def test_the_single_function_provider_does_import_crhelper_and_the_handler():
    """The check above sees the imports it allows, so an empty result means something."""
    assert {"crhelper", "bedrock_custom_resource"} <= imported_roots(SINGLE_FUNCTION_PACKAGE / "provider.py")


def test_the_check_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("import yaml\nfrom aws_cdk import Stack\nfrom . import contract\n")
    assert imported_roots(module) - ALLOWED == {"yaml", "aws_cdk"}
    module.write_text("import crhelper\nfrom bedrock_custom_resource import index\nimport requests\n")
    assert imported_roots(module) - ALLOWED == {"crhelper", "bedrock_custom_resource", "requests"}
    assert imported_roots(module) - SINGLE_FUNCTION_ALLOWED == {"requests"}
