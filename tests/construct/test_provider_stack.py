"""CustomizationProviderStack: an exported ServiceToken for plain CloudFormation, roles limited by path or
name prefix; and the example template that uses it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from bedrock_custom_resource import contract, environment
from cdk_bedrock_customization import CustomizationProviderStack, CustomModel, ProviderKind, S3Data
from cfnlint.decode import cfn_yaml

import app as example_app

from .conftest import ENV
from .test_example_app import PROVIDER_STACK, cfn_lint

EXAMPLE_TEMPLATE = Path(example_app.EXAMPLES) / "cloudformation" / "fine-tuning-job.yaml"

# The handler's reads of a stack: its status, its events, and its template and resources (what an update removes).
STACK_READS = [
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
]


def provider_stack(**settings: Any) -> tuple[CustomizationProviderStack, dict[str, Any]]:
    stack = CustomizationProviderStack(cdk.App(), "Provider", env=ENV, **settings)
    return stack, Template.from_stack(stack).to_json()


def policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the template's AWS::IAM::Policy resources."""
    return [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def pass_role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements that allow passing roles."""
    return [
        statement
        for statement in policy_statements(template)
        if statement["Action"] == "iam:PassRole" and statement["Effect"] == "Allow"
    ]


@pytest.mark.parametrize("kind", list(ProviderKind))
def test_it_exports_the_providers_service_token(kind):
    stack, template = provider_stack(kind=kind, passable_role_path="/bedrock-customization/")
    output = template["Outputs"]["ServiceToken"]
    assert output["Export"] == {"Name": "Provider-ServiceToken"}
    assert stack.export_name == "Provider-ServiceToken"
    assert output["Value"] == stack.resolve(stack.provider.service_token)


@pytest.mark.parametrize(
    ("settings", "resource_name"),
    [
        ({"passable_role_path": "/bedrock-customization/"}, "role/bedrock-customization/*"),
        ({"passable_role_name_prefix": "bedrock-"}, "role/bedrock-*"),
    ],
)
@pytest.mark.parametrize("kind", list(ProviderKind))
def test_the_handler_may_pass_only_roles_with_the_path_or_prefix_and_only_to_bedrock(kind, settings, resource_name):
    _, template = provider_stack(kind=kind, **settings)
    (statement,) = pass_role_statements(template)
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}
    assert statement["Resource"]["Fn::Join"][1][-1].endswith(f":{resource_name}")
    # The function that creates resources refuses other roles itself, naming them.
    creating = [
        resource["Properties"]["Environment"]["Variables"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and environment.PASSABLE_ROLES_VARIABLE in resource["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert [variables[environment.PASSABLE_ROLES_VARIABLE] for variables in creating] == [statement["Resource"]]
    # With the Provider framework, that is its onEvent function ("responsible to begin the requested resource
    # operation", provider.ts), which its entry function names in USER_ON_EVENT_FUNCTION_ARN; not isComplete.
    variables = {
        logical_id: resource["Properties"].get("Environment", {}).get("Variables", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    on_event = {
        v["USER_ON_EVENT_FUNCTION_ARN"]["Fn::GetAtt"][0]
        for v in variables.values()
        if "USER_ON_EVENT_FUNCTION_ARN" in v
    }
    if kind is ProviderKind.FRAMEWORK:
        assert [environment.PASSABLE_ROLES_VARIABLE in variables[logical_id] for logical_id in on_event] == [True]


@pytest.mark.parametrize("kind", list(ProviderKind))
def test_a_name_prefix_denies_passing_roles_whose_path_starts_with_it(kind):
    """IAM User Guide, "IAM JSON policy elements: Resource": * matches any combination of characters, / included, so
    role/bedrock-* also matches role/bedrock-sandbox/AnyRole (a role's ARN is role/<path><name>). A name prefix is of
    roles with the path /: roles in a path are denied."""
    _, template = provider_stack(kind=kind, passable_role_name_prefix="bedrock-")
    denials = [s for s in policy_statements(template) if s.get("Effect") == "Deny"]
    assert [(s["Action"], s["Resource"]["Fn::Join"][1][-1]) for s in denials] == [
        ("iam:PassRole", ":iam::123456789012:role/bedrock-*/*")
    ]
    _, by_path = provider_stack(kind=kind, passable_role_path="/bedrock-customization/")
    assert [s for s in policy_statements(by_path) if s.get("Effect") == "Deny"] == []


def test_the_handler_may_read_the_status_of_any_stack_of_its_account_and_region():
    """It serves the templates of any stack: a Delete of an adopted resource reads that stack's status (a rollback
    leaves what its operation adopted), and its events (what was made before its operation began stays), whichever
    stack it is."""
    _, template = provider_stack(passable_role_path="/bedrock-customization/")
    (status,) = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == STACK_READS
    ]
    # Any stack (its own among them, granted first, as every provider's own stack is).
    assert status["Resource"] == [
        {"Ref": "AWS::StackId"},
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudformation:us-east-1:123456789012:stack/*/*"]]},
    ]


def test_the_handler_may_provision_throughput_for_any_foundation_or_custom_model():
    _, template = provider_stack(passable_role_name_prefix="bedrock-")
    statements = policy_statements(template)
    (on_models,) = [s for s in statements if "bedrock:CreateProvisionedModelThroughput" in s["Action"]]
    # The Service Authorization Reference: CreateProvisionedModelThroughput acts on custom and foundation models
    # (UpdateProvisionedModelThroughput on those and on the throughput).
    assert set(on_models["Action"]) == {
        "bedrock:CreateProvisionedModelThroughput",
        "bedrock:UpdateProvisionedModelThroughput",
    }
    assert [r["Fn::Join"][1][-1] for r in on_models["Resource"]] == [
        ":bedrock:us-east-1:123456789012:custom-model/*",
        ":bedrock:us-east-1::foundation-model/*",
    ]
    (lifecycle_statement,) = [s for s in statements if "bedrock:DeleteProvisionedModelThroughput" in s["Action"]]
    assert lifecycle_statement["Resource"]["Fn::Join"][1][-1].endswith(":provisioned-model/*")


def test_the_handler_may_copy_models_from_any_region_and_import_model_packages_but_runs_no_evaluation():
    _, template = provider_stack(passable_role_name_prefix="bedrock-")
    statements = policy_statements(template)
    (copying,) = [s for s in statements if "bedrock:CreateModelCopyJob" in _actions(s)]
    assert copying["Resource"]["Fn::Join"][1][-1] == ":bedrock:*:*:custom-model/*"
    # The API reference (ModelPackageArnDataSource): both actions on the package, for CreateCustomModel's caller.
    (packages,) = [s for s in statements if "sagemaker:AccessModelPackageData" in _actions(s)]
    assert set(_actions(packages)) == {
        "sagemaker:DescribeModelPackage",
        "sagemaker:AccessModelPackage",
        "sagemaker:AccessModelPackageData",
    }
    assert packages["Resource"]["Fn::Join"][1][-1] == ":sagemaker:us-east-1:123456789012:model-package/*"
    assert not [s for s in statements if "bedrock:CreateEvaluationJob" in _actions(s)]


MODEL_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def kms_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for statement in policy_statements(template)
        if any(action.startswith("kms:") for action in _actions(statement))
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_the_handler_may_use_only_the_model_keys_given():
    """Bedrock creates a model key's grant with the caller's permissions (the user guide's CloudTrail example of
    CreateGrant names the calling role, invoked by bedrock.amazonaws.com): a template's key needs the handler's."""
    _, without = provider_stack(passable_role_name_prefix="bedrock-")
    assert kms_statements(without) == []
    _, template = provider_stack(passable_role_name_prefix="bedrock-", model_key_arns=[MODEL_KEY_ARN])
    use, grant = kms_statements(template)
    assert use["Resource"] == grant["Resource"] == MODEL_KEY_ARN
    assert set(_actions(use)) == {"kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"}
    # Bedrock creates the grant (kms:ViaService), never the handler on its own.
    assert (_actions(grant), grant["Condition"]) == (
        ["kms:CreateGrant"],
        {
            "StringEquals": {
                "kms:ViaService": {
                    "Fn::Join": ["", ["bedrock.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]
                }
            }
        },
    )


@pytest.mark.parametrize(
    ("model_key_arns", "error", "message"),
    [
        (MODEL_KEY_ARN, TypeError, "model_key_arns: expected list or tuple, got str"),
        ([None], ValueError, "model_key_arns[0]: expected a string, got None"),
        ([MODEL_KEY_ARN, "alias/models"], ValueError, "model_key_arns[1]: 'alias/models' does not match arn:aws"),
    ],
)
def test_model_key_arns_that_are_not_key_arns_are_refused_naming_them(model_key_arns, error, message):
    app = cdk.App()
    with pytest.raises(error, match=re.escape(message)):
        CustomizationProviderStack(app, "Provider", passable_role_name_prefix="bedrock-", model_key_arns=model_key_arns)
    assert app.node.children == []  # refused before the stack is made


def test_a_kind_that_is_not_a_provider_kind_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match=re.escape("kind: expected ProviderKind, got str 'single-function'")):
        provider_stack(passable_role_name_prefix="bedrock-", kind="single-function")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "give exactly one"),
        ({"passable_role_path": "/a/", "passable_role_name_prefix": "b"}, "give exactly one"),
        ({"passable_role_path": "/"}, r"passable_role_path: '/' is not an IAM path other than '/'"),
        ({"passable_role_path": "bedrock"}, r"passable_role_path: 'bedrock' is not an IAM path"),
        ({"passable_role_name_prefix": "bad prefix"}, r"passable_role_name_prefix: 'bad prefix' is not the start"),
        ({"passable_role_name_prefix": ""}, r"passable_role_name_prefix: '' is not the start"),
        # In the PassRole grant's role/<path>*, a * or ? is a wildcard: /*/ would let the handler pass any role.
        ({"passable_role_path": "/*/"}, r"passable_role_path: '/\*/' is not an IAM path .* no \* or \?"),
        ({"passable_role_path": "/team?/"}, r"passable_role_path: '/team\?/' is not an IAM path"),
        # IAM's role names are ASCII: [\w+=,.@-] there is not Python's Unicode \w.
        ({"passable_role_name_prefix": "bédrock-"}, r"passable_role_name_prefix: 'bédrock-' is not the start"),
    ],
)
def test_roles_must_be_limited_by_exactly_one_valid_path_or_prefix(settings, message):
    with pytest.raises(ValueError, match=message):
        provider_stack(**settings)


def test_a_role_path_is_at_most_as_long_as_iam_takes():
    """No role could be made in a longer path, and every template passing one would fail at its first deploy."""
    iam_model = botocore.session.get_session().get_service_model("iam")
    longest = iam_model.shape_for("pathType").metadata["max"]
    provider_stack(passable_role_path="/" + "a" * (longest - 2) + "/")
    too_long = "/" + "a" * (longest - 1) + "/"
    with pytest.raises(ValueError, match=rf"passable_role_path: '{too_long}' is not an IAM path .* at most {longest}"):
        provider_stack(passable_role_path=too_long)


def test_the_example_template_is_clean_for_cfn_lint():
    result = cfn_lint(EXAMPLE_TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_template_imports_the_example_apps_service_token_and_passes_a_role_it_may_pass(tmp_path):
    app = example_app.build_app(outdir=str(tmp_path))
    app.synth()
    provider_template = json.loads((tmp_path / f"{PROVIDER_STACK}.template.json").read_text())
    export = provider_template["Outputs"]["ServiceToken"]["Export"]["Name"]
    (passed,) = pass_role_statements(provider_template)

    template = cfn_yaml.load(str(EXAMPLE_TEMPLATE))
    job = template["Resources"]["SupportAssistant"]
    assert job["Type"] == contract.CUSTOMIZATION_JOB
    imported = job["Properties"]["ServiceToken"]["Fn::ImportValue"]["Fn::Sub"]
    assert imported.replace("${ProviderStackName}", template["Parameters"]["ProviderStackName"]["Default"]) == export
    role = template["Resources"]["ServiceRole"]
    assert job["Properties"]["roleArn"] == {"Fn::GetAtt": ["ServiceRole", "Arn"]}
    assert passed["Resource"]["Fn::Join"][1][-1] == f":role{role['Properties']['Path']}*"
    assert template["Outputs"]["outputModelArn"]["Value"] == {"Fn::GetAtt": ["SupportAssistant", "outputModelArn"]}


def test_the_example_jobs_properties_pass_the_handlers_contract():
    template = cfn_yaml.load(str(EXAMPLE_TEMPLATE))
    values = {"DataBucketName": "example-data", "BaseModelIdentifier": "amazon.nova-micro-v1:0:128k"}

    def resolve(value: Any) -> Any:  # the intrinsics the job's properties use, with sample values
        if isinstance(value, dict) and "Ref" in value:
            return values[value["Ref"]]
        if isinstance(value, dict) and "Fn::Sub" in value:
            return re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], value["Fn::Sub"])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return "arn:aws:iam::123456789012:role/bedrock-customization/example-ServiceRole-1A2B3C"
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    given = template["Resources"]["SupportAssistant"]["Properties"]
    properties = resolve({name: value for name, value in given.items() if name != "ServiceToken"})
    request = contract.create_request(contract.CUSTOMIZATION_JOB, properties)
    assert request["trainingDataConfig"] == {"s3Uri": "s3://example-data/support/train.jsonl"}
    assert request["hyperParameters"]["epochCount"] == "2"


def test_a_model_on_its_provider_must_bring_a_role_it_may_pass(tmp_path):
    """The provider passes only the roles of its path or prefix: a model that would make its own role (which has
    neither) is refused at synth, naming what to do, rather than by the handler at deploy, after its stack's other
    resources are made. A model given such a role synthesizes."""
    app = cdk.App(outdir=str(tmp_path))
    providers = CustomizationProviderStack(app, "Provider", env=ENV, passable_role_path="/bedrock-customization/")
    models = cdk.Stack(app, "Models", env=ENV)
    bucket = s3.Bucket(models, "Data")
    data = {
        "base_model": "amazon.nova-micro-v1:0:128k",
        "training_data": S3Data.from_bucket(bucket, "train.jsonl"),
        "output_data": S3Data.from_bucket(bucket, "output/"),
        "provider": providers.provider,
    }
    with pytest.raises(ValueError, match=r"role: none given, but the provider passes only roles matching .*give role="):
        CustomModel(models, "Own", **data)

    role = iam.Role.from_role_arn(
        models, "Passable", f"arn:aws:iam::{ENV.account}:role/bedrock-customization/support", mutable=False
    )
    CustomModel(models, "Given", role=role, **data)
    assert Template.from_stack(models).find_resources("Custom::BedrockModelCustomizationJob")


def test_the_example_tells_the_handler_each_policy_it_sets_that_changes_what_a_rollback_does():
    """README, "The contract": set deletionPolicy to RetainExceptOnCreate when the resource's DeletionPolicy is, and
    updateReplacePolicy to Delete when its UpdateReplacePolicy is; a custom resource is not told its policies."""
    template = cfn_yaml.load(str(EXAMPLE_TEMPLATE))
    custom = [r for r in template["Resources"].values() if r["Type"].startswith("Custom::")]
    assert custom
    for resource in custom:
        properties = resource["Properties"]
        if resource.get("DeletionPolicy") == "RetainExceptOnCreate":
            assert properties.get("deletionPolicy") == "RetainExceptOnCreate"
        if resource.get("UpdateReplacePolicy") == "Delete":
            assert properties.get("updateReplacePolicy") == "Delete"
