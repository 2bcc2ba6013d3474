"""At the lowest versions pyproject.toml declares (make test-lowest installs them): the library rehearses the
example app (trained, distilled, imported and copied models, deployments, throughput, an evaluation gate, a models
file, a plain template), synthesized through aws-cdk-lib, jsii and constructs at their bounds and deployed on moto,
trustme and cfn-lint at theirs. make test-lowest also runs the tests of models files (ruamel.yaml, jsonschema),
token counts (botocore's CountTokens), loss curves (matplotlib), status and emulate-bedrock there."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from tests.lowest.lowest_requirements import declared, declared_tools, lower_bound

REPO = Path(__file__).resolve().parents[2]
# The example app's stacks in the order the rehearsal deploys them, and its plain template's stack.
APP_STACKS = (
    "BedrockCustomizationExample",
    "BedrockCustomizationExampleServing",
    "BedrockModelsFromFile",
    "BedrockCustomizationProvider",
)
TEMPLATE_STACKS = ("fine-tuning-job",)
pytestmark = pytest.mark.lowest


@pytest.mark.parametrize("requirement", declared() + declared_tools(), ids=str)
def test_each_declared_dependency_is_installed_at_its_lower_bound(requirement) -> None:
    """Else this job would pass on newer releases and say nothing of the bounds."""
    assert Version(importlib.metadata.version(requirement.name)) == Version(lower_bound(requirement))


def test_the_example_app_rehearses_at_the_lowest_versions() -> None:
    """make deploy-local's rehearsal by this environment's command, the app run by its python (first on PATH)."""
    scripts = Path(sys.executable).parent
    environment = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}"}
    command = [str(scripts / "cdk-bedrock-customization"), "rehearse"]
    # The timeout only ends a hung run (it takes under a minute on an idle machine).
    finished = subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, check=False, timeout=1800
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    steps = [line for line in finished.stdout.splitlines() if line.endswith((" succeeded", " failed"))]
    assert steps == [
        f"{stack}: {step} succeeded"
        for step, stacks in (("CREATE", APP_STACKS), ("UPDATE", APP_STACKS), ("CREATE", TEMPLATE_STACKS))
        for stack in stacks
    ] + [f"{stack}: DELETE succeeded" for stack in (*TEMPLATE_STACKS, *reversed(APP_STACKS))]
