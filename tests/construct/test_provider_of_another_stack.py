"""A provider from another stack (``provider=``): the grants a model needs are made in the model's own stack,
attached to the provider's handler role, so the provider's stack never names the model's resources (which
would be a dependency cycle); and the job order is per stack."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import CustomizationProvider, CustomModel

from .conftest import custom_model


def models_stack(app: cdk.App, name: str, provider: CustomizationProvider, count: int = 3) -> list[CustomModel]:
    stack = cdk.Stack(app, name)
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "training-data")
    key = kms.Key(stack, "ModelKey")
    return [
        custom_model(
            stack,
            bucket,
            f"Model{number}",
            data_prefix=f"{name}/{number}/",
            kms_key=key if number == 0 else None,
            provider=provider,
        )
        for number in range(count)
    ]


def synthesized() -> tuple[dict[str, dict[str, Any]], dict[str, list[CustomModel]]]:
    app = cdk.App()
    provider_stack = cdk.Stack(app, "Providers")
    provider = CustomizationProvider.of(provider_stack)
    models = {name: models_stack(app, name, provider) for name in ("TeamA", "TeamB")}
    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    return templates, models


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_the_provider_stack_names_no_resource_of_the_model_stacks():
    templates, _ = synthesized()
    provider_text = json.dumps(templates["Providers"])
    assert "Fn::ImportValue" not in provider_text
    for name in ("TeamA", "TeamB"):
        for logical_id in templates[name]["Resources"]:
            assert f'"{logical_id}"' not in provider_text


def test_each_model_stack_grants_its_own_models_in_one_policy_on_the_handler_role():
    templates, _ = synthesized()
    for name in ("TeamA", "TeamB"):
        template = templates[name]
        policies = [
            policy
            for policy in of_type(template, "AWS::IAM::Policy").values()
            if "Fn::ImportValue" in json.dumps(policy["Properties"]["Roles"])
        ]
        (grants,) = policies
        statements = grants["Properties"]["PolicyDocument"]["Statement"]
        actions = {
            action for s in statements for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        assert "bedrock:CreateModelCustomizationJob" in actions
        assert "iam:PassRole" in actions
        (passing,) = [s for s in statements if s["Action"] == "iam:PassRole"]
        # The stack's own service roles, by the tag they carry: this stack's id, not the provider stack's.
        assert passing["Condition"]["StringEquals"]["aws:ResourceTag/cdk-bedrock-customization:stack"] == {
            "Ref": "AWS::StackId"
        }
        # The model key is granted to the handler here, in the key's stack.
        assert any(str(a).startswith("kms:") for a in actions)


def handler_role_policies(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's policies on another stack's role (the provider's handler role, imported)."""
    return [
        policy["Properties"]
        for policy in of_type(template, "AWS::IAM::Policy").values()
        if "Fn::ImportValue" in json.dumps(policy["Properties"]["Roles"])
    ]


def test_each_stacks_grants_are_a_policy_of_its_own_name_on_the_handler_role():
    """IAM keeps one inline policy per role and name: PutRolePolicy "adds or updates an inline policy", so under one
    name each stack's deploy replaced the other's grants, and either stack's delete removed both. Stacks whose names
    differ only past IAM's length get names IAM accepts (botocore's IAM model: policyNameType), and apart."""
    app = cdk.App()
    provider = CustomizationProvider.of(cdk.Stack(app, "Providers"))
    long_name = "ModelsOfTheFineTuningTeamForCustomerSupport" * 2  # a stack name near its 128 characters
    models = [models_stack(app, name, provider, count=1)[0] for name in ("TeamA", "TeamB", long_name, long_name + "2")]
    assembly = app.synth()
    templates = [assembly.get_stack_by_name(cdk.Stack.of(model).stack_name).template for model in models]
    names = [policy["PolicyName"] for template in templates for policy in handler_role_policies(template)]
    assert len(names) == len(set(names)) == len(models)
    name_shape = botocore.session.get_session().get_service_model("iam").shape_for("policyNameType")
    for name in names:
        assert re.fullmatch(name_shape.metadata["pattern"], name), name
        assert name_shape.metadata["min"] <= len(name) <= name_shape.metadata["max"], name


def test_every_job_waits_for_its_stacks_grants():
    templates, _ = synthesized()
    for name in ("TeamA", "TeamB"):
        template = templates[name]
        (grants_id,) = [
            k
            for k, v in of_type(template, "AWS::IAM::Policy").items()
            if "Fn::ImportValue" in json.dumps(v["Properties"]["Roles"])
        ]
        for job in of_type(template, "Custom::BedrockModelCustomizationJob").values():
            assert grants_id in job["DependsOn"]


def test_the_job_order_is_per_stack():
    """Each stack's third job waits for its own first job's end; no job waits for another stack's."""
    templates, models = synthesized()
    for name in ("TeamA", "TeamB"):
        template = templates[name]
        jobs = [cdk.Stack.of(m).resolve(m.resource.logical_id) for m in models[name]]
        dependencies = template["Resources"][jobs[2]]["DependsOn"]
        first_wait = [k for k in dependencies if "WaitingForJob" in k]
        assert len(first_wait) == 1 and first_wait[0].startswith("Model0")
        assert all(k in template["Resources"] for k in dependencies)


def test_stacks_sharing_a_provider_depend_on_its_stack_and_not_on_each_other():
    """Issue 16: the job order is per stack. One queue across stacks would make one stack depend on the other: TeamB
    would wait for TeamA's whole deploy, and CloudFormation would refuse to delete TeamA while TeamB imports from it.
    (The order of one stack's jobs, above, is the same under either.)"""
    app = cdk.App()
    provider = CustomizationProvider.of(cdk.Stack(app, "Providers"))
    stacks = {"Providers", "TeamA", "TeamB"}
    for name in ("TeamA", "TeamB"):
        models_stack(app, name, provider)
    assembly = app.synth()
    for name in ("TeamA", "TeamB"):
        assert {artifact.id for artifact in assembly.get_stack_by_name(name).dependencies} & stacks == {"Providers"}


@pytest.mark.parametrize(
    ("consumer", "what", "theirs"),
    [
        (cdk.Environment(account="123456789012", region="us-west-2"), "Region", "us-east-1"),
        (cdk.Environment(account="444455556666", region="us-east-1"), "account", "123456789012"),
    ],
    ids=["another-region", "another-account"],
)
def test_a_provider_of_another_environment_is_refused_and_nothing_is_left(consumer, what, theirs):
    """AWS::CloudFormation::CustomResource: "The service token must be from the same Region in which you are creating
    the stack" (a function of another account is not the stack's either)."""
    app = cdk.App()
    provider = CustomizationProvider.of(
        cdk.Stack(app, "Providers", env=cdk.Environment(account="123456789012", region="us-east-1"))
    )
    stack = cdk.Stack(app, "Models", env=consumer)
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "training-data")
    with pytest.raises(
        ValueError, match=rf"^provider: Providers/BedrockCustomizationProvider is of the {what} {theirs}"
    ):
        custom_model(stack, bucket, provider=provider)
    assert stack.node.try_find_child("Model") is None
    custom_model(stack, bucket)  # its own stack's provider
