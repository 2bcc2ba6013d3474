"""Settings for every test: aws-cdk-lib's deprecated APIs fail, no AWS profile of the environment applies, and the
hypothesis profile of the property-based tests.

JSII_DEPRECATED=fail makes each call of a deprecated aws-cdk-lib API raise, in this process's jsii kernel and in
every synth it starts (set before aws_cdk is first imported: the kernel reads it when it starts).

derandomize gives every run the same examples (a seed from each test function), so a CI failure reproduces;
deadline=None because nothing here may depend on timing; max_examples is bounded so the suite stays fast.
HYPOTHESIS_PROFILE=thorough runs more examples, still reproducibly.
"""

from __future__ import annotations

import os

os.environ["JSII_DEPRECATED"] = "fail"
# Every test's AWS is emulated in-process: a profile the developer's or CI's environment names (absent from this
# machine's config, botocore raises ProfileNotFound) must not reach the clients the tests make.
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_DEFAULT_PROFILE", None)

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings


def _start_jsii_kernel_with_own_temporary_directory() -> None:
    """An App made with no outdir synthesizes into a new directory under Node's temporary directory, which
    aws-cdk-lib never removes (hundreds per run): this process's jsii kernel gets a temporary directory of its own,
    removed when the tests end. The kernel reads TMPDIR once, when it starts (on the first import of aws_cdk)."""
    kernel_temporary_directory = tempfile.mkdtemp(prefix="cdk-tests-")
    atexit.register(shutil.rmtree, kernel_temporary_directory, ignore_errors=True)
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = kernel_temporary_directory
    try:
        import aws_cdk  # noqa: F401
    finally:
        if previous is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = previous


_start_jsii_kernel_with_own_temporary_directory()

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=20, database=None, print_blob=False)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests that run only when their marker is asked for: each needs a virtual environment of its own, which its make
# target builds (-m engine: make test-engine, ministack's; -m lowest: make test-lowest, the declared lower bounds').
OPT_IN_DIRECTORIES = {"engine": Path(__file__).parent / "engine", "lowest": Path(__file__).parent / "lowest"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    asked = config.getoption("markexpr") or ""
    not_asked = [directory for marker, directory in OPT_IN_DIRECTORIES.items() if marker not in asked]
    left_out = [item for item in items if any(directory in item.path.parents for directory in not_asked)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
