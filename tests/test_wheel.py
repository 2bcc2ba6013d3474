"""The wheel: it holds the handler package and its service model, and the single-function provider's
adapter; a user who installs it synthesizes the same handler and single-function assets as the repo
checkout, rehearses an app of their own with the installed command, and serves the Bedrock emulator with it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.bedrock_emulator import client, emulator_process, until

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SERVICE_MODEL = "bedrock_custom_resource/botocore_data/bedrock/2023-04-20/service-2.json.gz"
WHEEL_MEMBERS = (
    "bedrock_custom_resource/index.py",
    "bedrock_single_function/provider.py",
    SERVICE_MODEL,
    "cdk_bedrock_customization/__init__.py",
    "cdk_bedrock_customization/models.schema.json",
    "cdk_bedrock_customization/rehearsal/__main__.py",
    "cdk_bedrock_customization/rehearsal/framework_host.js",
    "cdk_bedrock_customization/emulation/bedrock_stand_in/__init__.py",
    "cdk_bedrock_customization/emulation/http_emulator.py",
)
# What the wheel is built from: pyproject.toml's files and package directories (their __pycache__ included).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "constructs", "lambda")
STACK_NAME = "WheelCheck"
SINGLE_FUNCTION_STACK = "WheelCheckSingleFunction"
HANDLER = "bedrock_custom_resource.index.on_event"

# Run by the wheel's venv and by the repo's: one CustomModel, synthesized into argv[1].
SYNTH_SCRIPT = f"""\
import json
import sys

import aws_cdk as cdk
import bedrock_custom_resource
import bedrock_single_function
import cdk_bedrock_customization
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import CustomizationProvider, CustomModel, ProviderKind, S3Data

app = cdk.App(outdir=sys.argv[1])
stack = cdk.Stack(app, {STACK_NAME!r})
bucket = s3.Bucket(stack, "Data")
CustomModel(
    stack,
    "Model",
    base_model="amazon.nova-micro-v1:0:128k",
    training_data=S3Data.from_bucket(bucket, "train.jsonl"),
    output_data=S3Data.from_bucket(bucket, "output/"),
)
CustomizationProvider.of(cdk.Stack(app, {SINGLE_FUNCTION_STACK!r}), kind=ProviderKind.SINGLE_FUNCTION)
app.synth()
print(json.dumps({{
    "bedrock_custom_resource": bedrock_custom_resource.__file__,
    "bedrock_single_function": bedrock_single_function.__file__,
    "cdk_bedrock_customization": cdk_bedrock_customization.__file__,
}}))
"""


# A user's app outside the repository, rehearsed by the installed wheel's command.
USER_APP = """\
import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import CustomModel, S3Data

app = cdk.App()
stack = cdk.Stack(app, "UserModels")
bucket = s3.Bucket(stack, "Data")
model = CustomModel(
    stack,
    "Assistant",
    base_model="amazon.nova-micro-v1:0:128k",
    training_data=S3Data.from_bucket(bucket, "train.jsonl"),
    output_data=S3Data.from_bucket(bucket, "output/"),
    hyper_parameters={"epochCount": app.node.try_get_context("epochs") or 1},
)
cdk.CfnOutput(stack, "ModelArn", value=model.output_model_arn)
app.synth()
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return env


def _run(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _build_wheel(tmp_path: Path) -> Path:
    """Builds from a copy of the sources, so that the build leaves no build/ or egg-info in the checkout
    (and no stale build/ reaches the wheel). With build isolation: the repo venv's setuptools is older
    than the one pyproject.toml requires."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            # *.pyc.<id>: bytecode that another test worker is writing, renamed away before it could be copied.
            ignored = shutil.ignore_patterns(".mypy_cache", ".ruff_cache", "*.pyc.*")
            shutil.copytree(path, source / name, ignore=ignored)
        elif path.exists():
            shutil.copy2(path, source / name)
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", source, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    return wheel


def _dependencies_without_this_project(tmp_path: Path) -> Path:
    """A directory of links to the repo venv's site-packages (aws-cdk-lib, constructs, boto3...), less
    the editable install of this project: its path finder (started by a .pth file) and its dist-info."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    links = tmp_path / "dependencies"
    links.mkdir()
    for entry in site_packages.iterdir():
        name = entry.name
        if (
            name.startswith("__editable__")
            or name.startswith("cdk_bedrock_customization-")
            or name
            in ("__pycache__", "cdk_bedrock_customization", "bedrock_custom_resource", "bedrock_single_function")
            or name.endswith(".pth")
        ):
            continue
        (links / name).symlink_to(entry)
    return links


def _venv_with_wheel(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=tmp_path,
    )
    site_packages = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip()
    )
    (site_packages / "repo_venv_dependencies.pth").write_text(f"{_dependencies_without_this_project(tmp_path)}\n")
    return python


def _synth(python: Path, workdir: Path) -> tuple[dict[str, str], Path]:
    """Synthesizes the one-model stack with this python, from workdir; returns where the two packages
    were imported from, and the cloud assembly directory."""
    workdir.mkdir()
    (workdir / "synth_one.py").write_text(SYNTH_SCRIPT)
    outdir = workdir / "cdk.out"
    modules = json.loads(_run(python, "synth_one.py", outdir, cwd=workdir).splitlines()[-1])
    return modules, outdir


def _template(outdir: Path, stack: str = STACK_NAME) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((outdir / f"{stack}.template.json").read_text())
    return template


def _single_function_asset(outdir: Path) -> Path:
    (function,) = [
        resource["Properties"]
        for resource in _template(outdir, SINGLE_FUNCTION_STACK)["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    return outdir / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"


def _handler_asset(outdir: Path) -> Path:
    """The asset directory of the library's on_event function (its S3Key is <asset hash>.zip)."""
    functions = [
        resource["Properties"]
        for resource in _template(outdir)["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("Handler") == HANDLER
    ]
    assert len(functions) == 1, functions
    asset_hash = functions[0]["Code"]["S3Key"].removesuffix(".zip")
    return outdir / f"asset.{asset_hash}"


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """The wheel, built once for this module's tests and installed in a venv of its own: (its directory, the wheel,
    the venv's python). The directory, removed afterwards, also holds the tests' cloud assemblies."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(tmp_path)
    yield tmp_path, wheel, _venv_with_wheel(tmp_path, wheel)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_installed_wheel_synthesizes_the_same_handler_and_single_function_assets_as_the_checkout(
    wheel_venv: tuple[Path, Path, Path],
) -> None:
    tmp_path, wheel, python = wheel_venv
    names = zipfile.ZipFile(wheel).namelist()
    for member in WHEEL_MEMBERS:
        assert member in names, f"{member} is missing from {wheel.name}: {names}"
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")], names

    installed, installed_out = _synth(python, tmp_path / "installed")
    venv = (tmp_path / "venv").resolve()
    for module, file in installed.items():
        resolved = Path(file).resolve()
        assert resolved.is_relative_to(venv), f"{module} imported from {resolved}, not from the wheel's venv"
        assert not resolved.is_relative_to(REPO), f"{module} imported from the checkout: {resolved}"

    resources = _template(installed_out)["Resources"].values()
    assert [r for r in resources if r["Type"] == "Custom::BedrockModelCustomizationJob"]
    asset = _handler_asset(installed_out)
    assert (asset / "bedrock_custom_resource" / "index.py").is_file()
    assert (asset / SERVICE_MODEL).is_file()
    assert not list(asset.rglob("__pycache__")), "the installer's bytecode reached the asset"

    # The models file's schema ships in the wheel, and its command prints it.
    command = python.parent / "cdk-bedrock-customization"
    printed = json.loads(_run(command, "schema", cwd=tmp_path))
    from cdk_bedrock_customization.models_file import json_schema

    assert printed == json_schema()

    # The rehearsal ships too: the installed command rehearses an app outside the repository.
    user_app = tmp_path / "user-app"
    user_app.mkdir()
    (user_app / "app.py").write_text(USER_APP)
    report = _run(
        command,
        "rehearse",
        "--app",
        f"{python} app.py",
        "--update-context",
        '{"epochs": 2}',
        "--job-minutes",
        "30",
        cwd=user_app,
    )
    assert "UserModels" in report and "ModelArn" in report, report
    assert "replaced" in report, report  # the update's new epoch count trains a new model
    assert not (user_app / "cdk.out").exists()  # the rehearsal synthesizes into a temporary directory

    checkout, checkout_out = _synth(Path(sys.executable), tmp_path / "checkout")
    assert Path(checkout["bedrock_custom_resource"]).resolve().is_relative_to(REPO)
    assert _handler_asset(checkout_out).name == asset.name
    single_function = _single_function_asset(installed_out)
    assert (single_function / "crhelper" / "resource_helper.py").is_file()
    assert (single_function / "bedrock_single_function" / "provider.py").is_file()
    assert _single_function_asset(checkout_out).name == single_function.name


def test_installed_wheel_serves_bedrock_over_http_until_sigterm(wheel_venv: tuple[Path, Path, Path]) -> None:
    """The emulator a local AWS emulator's functions reach (emulate-bedrock), as a harness runs it."""
    _tmp_path, _wheel, python = wheel_venv
    command = (python.parent / "cdk-bedrock-customization", "emulate-bedrock")
    with emulator_process(command, "--port", "0", "--job-seconds", "0") as emulator:
        bedrock = client("bedrock", emulator.url)
        assert bedrock.list_custom_models()["modelSummaries"] == []
        model_arn = bedrock.create_custom_model(
            modelName="wheel-check",
            modelSourceConfig={"s3DataSource": {"s3Uri": "s3://model-bucket/wheel-check/"}},
            roleArn="arn:aws:iam::123456789012:role/BedrockImport",
        )["modelArn"]
        until(
            lambda: bedrock.get_custom_model(modelIdentifier=model_arn)["modelStatus"] == "Active",
            "the imported model to be Active",
        )
        assert emulator.stop(signal.SIGTERM) == 0
