"""The handler's code as a Lambda asset (plain copies of packages: no Docker, the same bytes on every machine),
and the functions that run it."""

from __future__ import annotations

import importlib.metadata
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import bedrock_custom_resource
import bedrock_single_function
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct

HANDLER_PACKAGE = Path(bedrock_custom_resource.__file__).parent
SINGLE_FUNCTION_PACKAGE = Path(bedrock_single_function.__file__).parent
# The newest Python runtime that aws-cdk-lib offers (a test fails when a newer one appears).
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
# Lambda needs none of the typing files.
_IGNORED_FILES = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyi", "py.typed")


@jsii.implements(cdk.ILocalBundling)
class _CopyPackages:
    """Lays packages out under /var/task, so that they import as they do here. Plain copies: no Docker,
    and the same bytes on every machine."""

    def __init__(self, packages: Iterable[Path], license_files: Iterable[Path] = ()) -> None:
        self.packages = list(packages)
        self.license_files = list(license_files)

    def try_bundle(self, output_dir: str, _options: Any) -> bool:
        for package in self.packages:
            shutil.copytree(package, Path(output_dir) / package.name, ignore=_IGNORED_FILES)
        for license_file in self.license_files:
            shutil.copyfile(license_file, Path(output_dir) / "crhelper" / license_file.name)
        _readable_by_all(Path(output_dir))
        return True


def _readable_by_all(folder: Path) -> None:
    """Modes Lambda can read, whatever the machine's: the CDK zips each file with its mode, which the asset's hash
    leaves out, and a clone made under umask 077 has files only their owner reads (Runtime.ImportModuleError)."""
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _bundled_code(source: Path, bundler: _CopyPackages, hash_type: cdk.AssetHashType) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(source),
        exclude=["**/__pycache__", "**/*.pyc"],
        asset_hash_type=hash_type,
        bundling=cdk.BundlingOptions(
            # Never pulled or run: local bundling always succeeds.
            image=cdk.DockerImage.from_registry("local-bundling-only"),
            local=cast(cdk.ILocalBundling, bundler),
        ),
    )


def handler_code() -> lambda_.Code:
    """The handler package, as /var/task/bedrock_custom_resource (its relative imports work in Lambda)."""
    return _bundled_code(HANDLER_PACKAGE, _CopyPackages([HANDLER_PACKAGE]), cdk.AssetHashType.SOURCE)


def single_function_code() -> lambda_.Code:
    """The single-function provider: its adapter, the handler package, and crhelper from the installed
    distribution with its LICENSE and NOTICE. Hashed by its output, so that another crhelper changes it."""
    crhelper = importlib.metadata.distribution("crhelper")
    files = [Path(str(crhelper.locate_file(file))) for file in crhelper.files or ()]
    package = next(file.parent for file in files if file.name == "__init__.py" and file.parent.name == "crhelper")
    licenses = sorted(file for file in files if file.name in ("LICENSE", "NOTICE") and "dist-info" in str(file))
    bundler = _CopyPackages([SINGLE_FUNCTION_PACKAGE, HANDLER_PACKAGE, package], licenses)
    return _bundled_code(SINGLE_FUNCTION_PACKAGE, bundler, cdk.AssetHashType.OUTPUT)


def handler_function(
    scope: Construct,
    construct_id: str,
    entry: str,
    role: iam.IRole,
    log_group: logs.ILogGroup,
    *,
    description: str,
    code: lambda_.Code | None = None,
    environment: dict[str, str] | None = None,
    timeout: cdk.Duration | None = None,
    package: Path = HANDLER_PACKAGE,
) -> lambda_.Function:
    """A function of this library's handler package (or another package of code), at entry
    (``module.function``)."""
    return lambda_.Function(
        scope,
        construct_id,
        runtime=HANDLER_RUNTIME,
        code=code or handler_code(),
        handler=f"{package.name}.{entry}",
        role=role,
        timeout=timeout or cdk.Duration.minutes(1),
        memory_size=256,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        description=description,
        environment=environment,
    )
