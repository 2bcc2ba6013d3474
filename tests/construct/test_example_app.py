"""The example app as CloudFormation will see it: cdk-nag, cfn-lint, a snapshot, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_bedrock_customization._packaging import _CopyPackages
from cdk_bedrock_customization.testing import snapshot_template
from cdk_nag import AwsSolutionsChecks

import app as example_app

from .conftest import custom_model

STACK = "BedrockCustomizationExample"
FROM_FILE_STACK = "BedrockModelsFromFile"
PROVIDER_STACK = "BedrockCustomizationProvider"
SERVING_STACK = "BedrockCustomizationExampleServing"


def synth(outdir: Path, aspects: tuple[cdk.IAspect, ...] = ()) -> tuple[cdk.App, Path]:
    app = example_app.build_app(outdir=str(outdir))
    for aspect in aspects:
        cdk.Aspects.of(app).add(aspect)
    app.synth()
    return app, outdir / f"{STACK}.template.json"


def nag_report(app: cdk.App, outdir: Path) -> dict[str, Any]:
    """Synthesize with cdk-nag's AwsSolutions pack; synth itself fails on an unacknowledged error."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    (plugin,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    return plugin


def test_cdk_nag_aws_solutions_reports_no_unacknowledged_findings(tmp_path):
    report = nag_report(example_app.build_app(outdir=str(tmp_path)), tmp_path)
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_every_acknowledged_finding_is_justified(tmp_path):
    report = nag_report(example_app.build_app(outdir=str(tmp_path)), tmp_path)
    acknowledged = report["suppressedViolations"]
    assert acknowledged
    assert all(len(finding["reason"]) >= 30 for finding in acknowledged)


def test_cdk_nag_is_clean_for_a_job_in_a_vpc(tmp_path):
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_s3 as s3

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "VpcStack")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    cdk.Validations.of(vpc).acknowledge(cdk.Acknowledgment(id="AwsSolutions::AwsSolutions-VPC7", reason="A test VPC"))
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "training-data-bucket")
    custom_model(stack, bucket, vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))
    assert nag_report(app, tmp_path)["violations"] == []


@pytest.mark.parametrize("prefix", ["a(b/", "a)b/", "(/", "a(b(c)/"])
def test_data_under_keys_with_unpaired_brackets_synthesizes(tmp_path, prefix):
    """botocore's S3Uri pattern allows "(" and ")" in keys; aws-cdk-lib refuses an acknowledgement id whose brackets do
    not pair up, and the synth failed. Now the wildcard grant's rule is acknowledged for the role as a whole. (With
    cdk-nag, aws-cdk-lib 2.275 still fails such a finding's own id, acknowledged or not.)"""
    from aws_cdk import aws_s3 as s3

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "BracketStack")
    trained = custom_model(stack, s3.Bucket.from_bucket_name(stack, "Data", "training-data-bucket"), data_prefix=prefix)
    app.synth()
    role = trained.node.find_child("ServiceRole")
    acknowledged = [key for entry in role.node.metadata if isinstance(entry.data, dict) for key in entry.data]
    assert "AwsSolutions::AwsSolutions-IAM5" in acknowledged


def test_cdk_nag_is_clean_for_data_under_keys_with_paired_brackets(tmp_path):
    from aws_cdk import aws_s3 as s3

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "BracketStack")
    custom_model(stack, s3.Bucket.from_bucket_name(stack, "Data", "training-data-bucket"), data_prefix="a(b)c/")
    assert nag_report(app, tmp_path)["violations"] == []


def test_cdk_nag_is_clean_for_a_model_looked_up_by_name(tmp_path):
    from cdk_bedrock_customization import CustomModel

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "LookupStack")
    CustomModel.from_custom_model_name(stack, "Existing", "support-model").add_deployment("OnDemand")
    assert nag_report(app, tmp_path)["violations"] == []


def cfn_lint(template_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(template_path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def example_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app, synthesized once for the tests that only read its templates."""
    outdir = tmp_path_factory.mktemp("example")
    synth(outdir)
    return outdir


@pytest.mark.parametrize("stack", [STACK, FROM_FILE_STACK, PROVIDER_STACK, SERVING_STACK])
def test_cfn_lint_reports_no_errors(example_assembly, stack):
    result = cfn_lint(example_assembly / f"{stack}.template.json")
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational; 1 means it could not run.
    assert result.returncode in (0, 4, 8, 12), result.stdout + result.stderr


def test_cfn_lint_check_can_fail(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}))
    assert cfn_lint(broken).returncode & 2


@pytest.mark.parametrize("stack", [STACK, FROM_FILE_STACK, PROVIDER_STACK, SERVING_STACK])
def test_template_matches_snapshot(example_assembly, snapshot, stack):
    assert snapshot_template(json.loads((example_assembly / f"{stack}.template.json").read_text())) == snapshot


def test_two_synths_are_byte_identical(tmp_path):
    _, first = synth(tmp_path / "first")
    _, second = synth(tmp_path / "second")
    assert first.read_bytes() == second.read_bytes()
    assets = sorted(p.name for p in (tmp_path / "first").glob("asset.*"))
    assert assets == sorted(p.name for p in (tmp_path / "second").glob("asset.*"))


def test_handler_asset_holds_the_package_and_no_bytecode(tmp_path):
    # Importing the handler here leaves __pycache__ in the source tree: the asset must still exclude it.
    import bedrock_custom_resource.index  # noqa: F401

    synth(tmp_path)
    handler_assets = [
        p
        for p in tmp_path.glob("asset.*")
        if (p / "bedrock_custom_resource").is_dir() and not (p / "crhelper").exists()
    ]
    assert len(handler_assets) == 1
    files = sorted(str(p.relative_to(handler_assets[0])) for p in handler_assets[0].rglob("*") if p.is_file())
    assert "bedrock_custom_resource/index.py" in files
    assert "bedrock_custom_resource/botocore_data/bedrock/2023-04-20/service-2.json.gz" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_the_asset_is_readable_by_lambda_whatever_the_modes_of_the_source(tmp_path):
    """A clone made under umask 077 has files of mode 600: the CDK zips each file with its mode (and the asset's hash
    leaves modes out), so Lambda, which reads as another user, could import nothing (Runtime.ImportModuleError;
    aws/aws-cdk#8233). Lambda needs 644 files and 755 folders (AWS re:Post, "Lambda deployment package errors")."""
    source = tmp_path / "source" / "handler_package"
    (source / "inner").mkdir(parents=True)
    for file in (source / "index.py", source / "inner" / "data.json"):
        file.write_text("{}")
        file.chmod(0o600)
    for folder in (source / "inner", source):
        folder.chmod(0o700)
    output = tmp_path / "asset"
    output.mkdir()

    assert _CopyPackages([source]).try_bundle(str(output), None)

    modes = {str(path.relative_to(output)): oct(path.stat().st_mode & 0o777) for path in output.rglob("*")}
    assert modes == {
        "handler_package": "0o755",
        "handler_package/inner": "0o755",
        "handler_package/index.py": "0o644",
        "handler_package/inner/data.json": "0o644",
    }


@pytest.mark.parametrize("output", ["SupportAssistantModelArn", "DistilledRouterModelArn"])
def test_example_outputs_each_models_arn(example_assembly, output):
    value = json.loads((example_assembly / f"{STACK}.template.json").read_text())["Outputs"][output]["Value"]
    assert value["Fn::GetAtt"][1] == "outputModelArn"


def test_the_example_apps_base_models_are_not_warned_of(tmp_path):
    """Every base model app.py trains is one the dataset rules know for its customization (custom-model-supported.html
    lists Amazon Nova Micro for fine-tuning and as a distillation student)."""
    assembly = example_app.build_app(outdir=str(tmp_path)).synth()
    messages = [message.entry.data for stack in assembly.stacks for message in stack.messages]
    assert assembly.stacks
    assert [data for data in messages if "baseModelUnknown" in str(data)] == []
