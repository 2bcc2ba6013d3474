"""Synth-time behaviour of ProviderKind.SINGLE_FUNCTION: its resources, permissions, asset, and every resource
type and completion mode on it."""

from __future__ import annotations

import filecmp
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from bedrock_custom_resource import contract
from bedrock_custom_resource.environment import CLEANUP_WAIT_VARIABLE
from bedrock_single_function import provider as adapter
from cdk_bedrock_customization import (
    Completion,
    CopiedCustomModel,
    CustomizationProvider,
    EvaluationDataset,
    ImportedCustomModel,
    ImportedModel,
    ModelEvaluation,
    ModelSource,
    ProviderKind,
    S3Data,
)
from cdk_bedrock_customization.provider import POLLING_RULE_PREFIX, SINGLE_FUNCTION_TIMEOUT

from .conftest import ENV, custom_model
from .test_example_app import cfn_lint, nag_report

CUSTOM_TYPES = tuple(contract.CONTRACTS)
SOURCE_IN_ANOTHER_REGION = (
    "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
)


def provider_only(kind: ProviderKind, outdir: Path | None = None) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(outdir=str(outdir) if outdir else None)
    stack = cdk.Stack(app, "ProviderOnly", env=ENV)
    CustomizationProvider.of(stack, kind=kind)
    return app, stack


def single_function_stack(app: cdk.App, **provider_settings: Any) -> tuple[cdk.Stack, CustomizationProvider]:
    stack = cdk.Stack(app, "SingleFunction", env=ENV)
    provider = CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION, **provider_settings)
    return stack, provider


def every_resource_type(stack: cdk.Stack) -> None:
    """Models in each completion mode, an import from SageMaker AI and one of open weights, a copy from another
    Region, a deployment, a provisioned throughput, and an evaluation of it with its gate."""
    bucket = s3.Bucket(stack, "Data", enforce_ssl=True, server_access_logs_prefix="logs/")
    for completion in (Completion.event_driven(), Completion.polling(), Completion.no_wait()):
        name = completion.mode.lower()
        model = custom_model(stack, bucket, f"Model{completion.mode}", data_prefix=f"{name}/", completion=completion)
        if completion.mode != "NO_WAIT":
            model.add_deployment("OnDemand")
    escrow = s3.Bucket.from_bucket_name(stack, "Escrow", "customer-escrow-123456789012-smtj-a1b2c3")
    imported = ImportedCustomModel(
        stack, "Imported", source=ModelSource.from_s3(S3Data.from_bucket(escrow, "imported/"))
    )
    throughput = imported.add_provisioned_throughput("Throughput", model_units=1)
    ModelEvaluation(
        stack,
        "Evaluation",
        model=throughput,
        datasets=[
            EvaluationDataset.builtin("Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"])
        ],
        output_data=S3Data.from_bucket(bucket, "evaluations/"),
    )
    ImportedModel(stack, "OpenWeights", model_data=S3Data.from_bucket(bucket, "weights/llama/"))
    CopiedCustomModel(stack, "Copy", source_model=SOURCE_IN_ANOTHER_REGION)


def functions(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}


def test_the_single_function_provider_needs_at_most_5_resources_where_the_framework_needs_a_state_machine():
    templates = {kind: Template.from_stack(provider_only(kind)[1]).to_json()["Resources"] for kind in ProviderKind}
    single, framework = templates[ProviderKind.SINGLE_FUNCTION], templates[ProviderKind.FRAMEWORK]
    assert sorted(v["Type"] for v in single.values()) == [
        "AWS::IAM::Policy",
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Logs::LogGroup",
    ]
    assert "AWS::StepFunctions::StateMachine" in {v["Type"] for v in framework.values()}
    assert len(framework) > 3 * len(single)


def test_its_one_function_is_the_service_token_of_every_resource_type():
    app = cdk.App()
    stack, provider = single_function_stack(app)
    every_resource_type(stack)
    template = Template.from_stack(stack).to_json()
    (function_id,) = [k for k, v in functions(template).items() if "single-function" in v["Properties"]["Description"]]
    custom = {k: v for k, v in template["Resources"].items() if v["Type"] in CUSTOM_TYPES}
    assert {v["Type"] for v in custom.values()} == set(CUSTOM_TYPES)
    assert {json.dumps(v["Properties"]["ServiceToken"]) for v in custom.values()} == {
        json.dumps({"Fn::GetAtt": [function_id, "Arn"]})
    }
    assert not [v for v in template["Resources"].values() if v["Type"] == "AWS::StepFunctions::StateMachine"]
    # Each waits for the function's permission to let its polling rules invoke it.
    (permissions_id,) = [k for k in template["Resources"] if "PollingPermissions" in k]
    assert all(permissions_id in v.get("DependsOn", []) for v in custom.values())
    assert stack.resolve(provider.service_token) == {"Fn::GetAtt": [function_id, "Arn"]}


def test_the_function_is_set_up_deliberately():
    app = cdk.App()
    stack, _ = single_function_stack(
        app, query_interval=cdk.Duration.minutes(2), total_timeout=cdk.Duration.minutes(45)
    )
    template = Template.from_stack(stack).to_json()
    ((_, function),) = functions(template).items()
    properties = function["Properties"]
    assert properties["Handler"] == "bedrock_single_function.provider.handler"
    # Bounds crhelper's endless response PUT.
    assert properties["Timeout"] == SINGLE_FUNCTION_TIMEOUT.to_seconds() == 120
    variables = properties["Environment"]["Variables"]
    assert variables[adapter.INTERVAL_VARIABLE] == "2"
    assert variables[adapter.TOTAL_TIMEOUT_VARIABLE] == "2640"  # 45 minutes, as whole 2-minute polls: 44
    # A rollback's polls wait to delete what a cancelled update made for 44 minutes less two polls: 40 minutes.
    assert variables[CLEANUP_WAIT_VARIABLE] == str(40 * 60)
    prefix = variables[adapter.RULE_PREFIX_VARIABLE]["Fn::Join"][1]
    assert prefix[0] == POLLING_RULE_PREFIX and prefix[-1] == "-"
    assert "AWS::StackId" in json.dumps(prefix[1])


def test_its_deadline_leaves_a_poll_and_2_minutes_to_answer_within_cloudformations_hour():
    stack, _ = single_function_stack(cdk.App(), query_interval=cdk.Duration.minutes(4))
    ((_, function),) = functions(Template.from_stack(stack).to_json()).items()
    # 60 - 4 - 2 = 54 minutes, less what is not a whole number of 4-minute polls: 52.
    assert function["Properties"]["Environment"]["Variables"][adapter.TOTAL_TIMEOUT_VARIABLE] == str(52 * 60)


def test_its_permissions_reach_only_its_own_rules_and_itself():
    app = cdk.App()
    stack, _ = single_function_stack(app)
    template = Template.from_stack(stack).to_json()
    ((function_id, function),) = functions(template).items()
    prefix = function["Properties"]["Environment"]["Variables"][adapter.RULE_PREFIX_VARIABLE]
    statements = {
        logical_id: policy["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, policy in template["Resources"].items()
        if policy["Type"] == "AWS::IAM::Policy"
    }
    events = [s for group in statements.values() for s in group if "events" in json.dumps(s["Action"])]
    assert len(events) == 1
    assert sorted(events[0]["Action"]) == [
        "events:DeleteRule",
        "events:ListTargetsByRule",
        "events:PutRule",
        "events:PutTargets",
        "events:RemoveTargets",
    ]
    # arn:...:rule/<the function's own prefix>*
    rule_arn = events[0]["Resource"]["Fn::Join"][1]
    start, stack_part, end = prefix["Fn::Join"][1]
    assert rule_arn[-3].endswith(f":rule/{start}")
    assert rule_arn[-2:] == [stack_part, f"{end}*"]
    lambda_statements = {
        logical_id: s for logical_id, group in statements.items() for s in group if "lambda:" in json.dumps(s)
    }
    ((policy_id, statement),) = lambda_statements.items()
    assert statement["Action"] == ["lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"]
    assert statement["Resource"] == {"Fn::GetAtt": [function_id, "Arn"]}
    # Not the role's default policy, which the function waits for: that would be a cycle.
    assert "DefaultPolicy" not in policy_id
    assert policy_id not in function.get("DependsOn", [])


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        (cdk.Duration.seconds(30), "query_interval: 30 seconds is not a whole number of minutes"),
        (cdk.Duration.seconds(90), "query_interval: 1 minute 30 seconds is not a whole number of minutes"),
    ],
)
def test_a_query_interval_that_an_eventbridge_rate_cannot_express_is_refused(interval, message):
    with pytest.raises(ValueError, match=message):
        single_function_stack(cdk.App(), query_interval=interval)


def test_more_than_an_hour_is_refused_as_on_the_framework():
    with pytest.raises(ValueError, match="total_timeout: 2 hours is longer than 1 hour"):
        single_function_stack(cdk.App(), total_timeout=cdk.Duration.hours(2))


def test_a_kind_that_is_not_a_provider_kind_is_refused():
    with pytest.raises(ValueError, match="kind: 'single-function' is not a ProviderKind"):
        CustomizationProvider.of(cdk.Stack(cdk.App(), "S"), kind="single-function")


def test_cfn_lint_and_cdk_nag_are_clean_with_every_resource_type(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack, _ = single_function_stack(app)
    every_resource_type(stack)
    report = nag_report(app, tmp_path)
    assert report["violations"] == []
    result = cfn_lint(tmp_path / "SingleFunction.template.json")
    assert result.returncode in (0, 4, 8, 12), result.stdout + result.stderr


def asset_of(outdir: Path) -> Path:
    (asset,) = [p for p in outdir.glob("asset.*") if (p / "crhelper").is_dir()]
    return asset


def test_the_asset_ships_crhelper_from_the_installed_distribution_with_its_licence(tmp_path):
    import bedrock_single_function.provider  # noqa: F401  (leaves __pycache__ in the source tree)

    app, _ = provider_only(ProviderKind.SINGLE_FUNCTION, tmp_path)
    app.synth()
    asset = asset_of(tmp_path)
    files = sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())
    assert {name.split("/")[0] for name in files} == {"bedrock_custom_resource", "bedrock_single_function", "crhelper"}
    assert not [f for f in files if "__pycache__" in f or f.endswith((".pyc", ".pyi"))]
    distribution = importlib.metadata.distribution("crhelper")
    installed = {
        Path(str(distribution.locate_file(f)))
        for f in distribution.files or ()
        if str(f).startswith("crhelper/") and str(f).endswith(".py")
    }
    assert installed
    for source in installed:
        assert filecmp.cmp(source, asset / "crhelper" / source.name, shallow=False), source.name
    assert {"crhelper/LICENSE", "crhelper/NOTICE"} <= set(files)
    assert "bedrock_single_function/provider.py" in files
    assert "bedrock_custom_resource/index.py" in files


def test_the_asset_is_the_same_on_every_synth_and_distinct_from_the_frameworks(tmp_path):
    hashes = []
    for name in ("first", "second"):
        app, _ = provider_only(ProviderKind.SINGLE_FUNCTION, tmp_path / name)
        app.synth()
        hashes.append(asset_of(tmp_path / name).name)
    assert hashes[0] == hashes[1]
    app, _ = provider_only(ProviderKind.FRAMEWORK, tmp_path / "framework")
    app.synth()
    framework_assets = {p.name for p in (tmp_path / "framework").glob("asset.*")}
    assert hashes[0] not in framework_assets
    assert not [p for p in (tmp_path / "framework").glob("asset.*") if (p / "crhelper").exists()]
