"""The README's main job: the real CDK CLI synthesizes the example app, with no AWS account."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npx") is None, reason="needs Node.js and npx")
def test_cdk_cli_synthesizes_the_example_app(tmp_path):
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        ["npx", "--yes", "aws-cdk@2", "synth", "--quiet", "--output", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    template = json.loads((tmp_path / "BedrockCustomizationExample.template.json").read_text())
    jobs = [r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockModelCustomizationJob"]
    assert len(jobs) == 2
