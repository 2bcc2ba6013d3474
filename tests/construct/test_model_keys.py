"""The keys a job reads or writes with, as every role the library grants them holds them.

References: Bedrock's user guide, "Encryption of custom models" (Decrypt, GenerateDataKey, DescribeKey and CreateGrant
on the model's key; Bedrock itself sends the CreateGrant, "invokedBy": "bedrock.amazonaws.com"; its key policies
limit them with "kms:ViaService": "bedrock.${region}.amazonaws.com"), and AWS KMS's condition key kms:ViaService,
which the Service Authorization Reference lists for kms:CreateGrant. Unconditioned, a principal holding CreateGrant
could grant anyone the key that protects the model. The S3 user guide: reading an SSE-KMS object
needs kms:Decrypt on its key; Bedrock's service role pages list the data's key among what the role needs."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_bedrock_customization import (
    CopiedCustomModel,
    ImportedCustomModel,
    ImportedModel,
    ModelSource,
    ProvisionedThroughput,
    S3Data,
)

from .conftest import ENV, custom_model

# Through Bedrock of the stack's Region, in its partition's URL suffix (amazonaws.com, amazonaws.com.cn).
THROUGH_BEDROCK = {
    "StringEquals": {
        "kms:ViaService": {"Fn::Join": ["", ["bedrock.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]}
    }
}
COPIED_SOURCE = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
USE = {"kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"}


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every IAM policy, inline or not, in the template."""
    found = []
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        documents = [properties.get("PolicyDocument"), *(p["PolicyDocument"] for p in properties.get("Policies", []))]
        for document in filter(None, documents):
            found.extend(document["Statement"])
    return found


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _on(statement: dict[str, Any], logical_id: str) -> bool:
    return logical_id in json.dumps(statement["Resource"])


def _encrypted_model(kind: str) -> tuple[cdk.Stack, dict[str, Any]]:
    stack = cdk.Stack(cdk.App(), "Keys", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    key = kms.Key(stack, "ModelKey")
    if kind == "customization job":
        custom_model(stack, bucket, kms_key=key)
    elif kind == "model import":
        ImportedModel(stack, "Imported", model_data=S3Data.from_bucket(bucket, "weights/"), kms_key=key)
    elif kind == "model copy":
        CopiedCustomModel(stack, "Copy", source_model=COPIED_SOURCE, kms_key=key)
    else:  # a throughput of an encrypted model: the handler creates it with the caller's use of the key
        ProvisionedThroughput(stack, "Serving", model=custom_model(stack, bucket, kms_key=key), model_units=1)
    return stack, Template.from_stack(stack).to_json()


@pytest.mark.parametrize("kind", ["customization job", "model import", "model copy", "throughput"])
def test_the_model_key_may_be_granted_only_by_bedrock_and_used(kind: str) -> None:
    stack, template = _encrypted_model(kind)
    key_id = stack.get_logical_id(stack.node.find_child("ModelKey").node.default_child)
    on_key = [statement for statement in _statements(template) if _on(statement, key_id)]

    grants = [statement for statement in on_key if "kms:CreateGrant" in _actions(statement)]
    assert grants
    for statement in grants:
        assert _actions(statement) == {"kms:CreateGrant"}
        assert statement["Condition"] == THROUGH_BEDROCK
    uses = [statement for statement in on_key if _actions(statement) & USE]
    assert uses and all(_actions(statement) == USE and "Condition" not in statement for statement in uses)
    # Every principal that may use the key may have Bedrock grant it: as many statements of each.
    assert len(uses) == len(grants)


def test_a_model_key_of_another_stack_is_granted_by_its_arn_with_the_same_condition() -> None:
    app = cdk.App()
    keys = cdk.Stack(app, "KeyStack", env=ENV)
    key = kms.Key(keys, "ModelKey")
    stack = cdk.Stack(app, "Models", env=ENV)
    custom_model(stack, s3.Bucket(stack, "Data"), kms_key=key)
    template = Template.from_stack(stack).to_json()

    grants = [statement for statement in _statements(template) if "kms:CreateGrant" in _actions(statement)]
    assert len(grants) == 2  # the job's service role, and the handler that creates it
    assert all(statement["Condition"] == THROUGH_BEDROCK for statement in grants)
    assert all("ModelKey" in json.dumps(statement["Resource"]) for statement in grants)


@pytest.mark.parametrize("kind", ["customization job", "model import"])
def test_a_service_role_may_decrypt_what_it_reads_from_an_sse_kms_bucket(kind: str) -> None:
    stack = cdk.Stack(cdk.App(), "Reads", env=ENV)
    data_key = kms.Key(stack, "DataKey")
    data = s3.Bucket(stack, "Data", encryption_key=data_key)
    output = s3.Bucket(stack, "Output")  # unencrypted: only what is read may bring the data key
    if kind == "customization job":
        custom_model(stack, data, output_data=S3Data.from_bucket(output, "out/"))
    else:
        ImportedModel(stack, "Imported", model_data=S3Data.from_bucket(data, "weights/"))
    template = Template.from_stack(stack).to_json()
    key_id = stack.get_logical_id(data_key.node.default_child)
    (role,) = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
        and "bedrock.amazonaws.com" in json.dumps(resource["Properties"]["AssumeRolePolicyDocument"])
    ]
    role_statements = [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert any("kms:Decrypt" in _actions(s) and _on(s, key_id) for s in role_statements), role_statements


@pytest.mark.parametrize("where", ["same stack", "another stack"])
def test_a_model_trained_further_may_be_read_with_its_key(where: str) -> None:
    """As a copy's source (encryption-custom-job.html: Decrypt "to validate that the role has proper access to the KMS
    key that encrypts the custom model"): the handler that creates the job, and the job's service role."""
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENV)
    base_key = kms.Key(first, "BaseKey")
    base = custom_model(first, s3.Bucket(first, "Data"), kms_key=base_key)
    stack = first if where == "same stack" else cdk.Stack(app, "Second", env=ENV)
    further = custom_model(stack, s3.Bucket(stack, "MoreData"), "Further", base_model=base)
    template = Template.from_stack(stack).to_json()

    reads = [
        s for s in _statements(template) if "BaseKey" in json.dumps(s["Resource"]) and "kms:Decrypt" in _actions(s)
    ]
    principals = sorted(
        logical_id
        for logical_id, resource in template["Resources"].items()
        for statement in reads
        if statement in _statements({"Resources": {logical_id: resource}})
    )
    service_role = stack.get_logical_id(further.node.find_child("ServiceRole"))
    assert service_role in principals
    assert any(logical_id.startswith("BedrockCustomizationProviderHandlerRole") for logical_id in principals)


def test_a_model_trained_further_without_a_key_adds_no_key_grant() -> None:
    stack = cdk.Stack(cdk.App(), "Plain", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    custom_model(stack, bucket, "Further", base_model=custom_model(stack, bucket))
    assert [
        s for s in _statements(Template.from_stack(stack).to_json()) if any(a.startswith("kms:") for a in _actions(s))
    ] == []


def test_a_given_role_may_read_the_model_it_trains_further_and_the_job_waits_for_that_grant() -> None:
    stack = cdk.Stack(cdk.App(), "Given", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    base = custom_model(stack, bucket, kms_key=kms.Key(stack, "BaseKey"))
    given = iam.Role(stack, "GivenRole", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    further = custom_model(stack, bucket, "Further", base_model=base, role=given)
    template = Template.from_stack(stack).to_json()

    policies = {k: r for k, r in template["Resources"].items() if k.startswith("GivenRoleDefaultPolicy")}
    ((policy_id, policy),) = policies.items()
    assert any(
        "kms:Decrypt" in _actions(s) and "BaseKey" in json.dumps(s["Resource"])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )
    job = template["Resources"][stack.get_logical_id(further.resource)]
    assert policy_id in job["DependsOn"]  # Bedrock checks the role's access as the job starts


SHARED_ROLE_ARN = "arn:aws:iam::123456789012:role/service/bedrock-shared"
SHARED_ROLES = {
    "made": lambda roles: iam.Role(roles, "Shared", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com")),
    "imported by ARN": lambda roles: iam.Role.from_role_arn(roles, "Shared", SHARED_ROLE_ARN),
    "imported by name": lambda roles: iam.Role.from_role_name(roles, "Shared", "bedrock-shared"),
    # Mutable, though its id is the one aws-cdk-lib gives a role's immutable wrapper (ImmutableRole<the role's id>).
    "imported beside a role, under its wrapper's id": lambda roles: [
        iam.Role(roles, "Team", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com")),
        iam.Role.from_role_arn(roles, "ImmutableRoleTeam", SHARED_ROLE_ARN),
    ][1],
}


def _of_a_shared_roles_stack(kind: str, role: str = "made") -> tuple[cdk.Stack, cdk.Stack, cdk.CfnResource]:
    """A role of a roles stack (made there, or imported there as mutable, aws-cdk-lib's default) runs a job of a
    models stack whose key (or base model's key) is the models stack's: (roles, models, the job)."""
    app = cdk.App()
    roles = cdk.Stack(app, "Roles", env=ENV)
    shared = SHARED_ROLES[role](roles)
    models = cdk.Stack(app, "Models", env=ENV)
    bucket = s3.Bucket(models, "Data")
    key = kms.Key(models, "ModelKey")
    if kind == "customization job":
        made: Any = custom_model(models, bucket, role=shared, kms_key=key)
    elif kind == "model trained further":
        made = custom_model(
            models, bucket, "Further", base_model=custom_model(models, bucket, kms_key=key), role=shared
        )
    elif kind == "model import":
        made = ImportedModel(
            models, "Imported", model_data=S3Data.from_bucket(bucket, "weights/"), role=shared, kms_key=key
        )
    else:
        source = ModelSource.from_uri("s3://customer-escrow-bucket/nova-model/")
        made = ImportedCustomModel(models, "Imported", source=source, role=shared, kms_key=key)
    return roles, models, made.resource


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        *(
            (kind, "made")
            for kind in ["customization job", "model trained further", "model import", "custom model import"]
        ),
        ("customization job", "imported by ARN"),
        ("customization job", "imported by name"),
        ("customization job", "imported beside a role, under its wrapper's id"),
        ("model import", "imported by ARN"),
    ],
)
def test_a_role_of_another_stack_is_granted_the_key_in_a_policy_of_the_models_stack(kind: str, role: str) -> None:
    """Its own policy would name the models stack's key from the roles stack, which the models stack names already
    (a dependency cycle: CDK refuses to synthesize). The job waits for that policy, as Bedrock checks the role's
    access as the job starts."""
    roles, models, job = _of_a_shared_roles_stack(kind, role)
    template = Template.from_stack(models).to_json()  # synthesizes the app: no dependency cycle

    assert "ModelKey" not in json.dumps(Template.from_stack(roles).to_json())
    # The role's name: an export of the roles stack for a role made there, else the name it was imported by (an
    # imported ARN's path is not part of its name).
    named = "Fn::ImportValue" if role == "made" else '"bedrock-shared"'
    policies = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy"
        and "Roles" in resource["Properties"]
        and named in json.dumps(resource["Properties"]["Roles"])
    }
    ((policy_id, policy),) = policies.items()
    granted = [s for s in policy["PolicyDocument"]["Statement"] if "ModelKey" in json.dumps(s["Resource"])]
    assert any("kms:Decrypt" in _actions(s) for s in granted)
    assert policy_id in template["Resources"][models.get_logical_id(job)]["DependsOn"]


IMMUTABLE_ROLES = {
    "imported by ARN": lambda roles: iam.Role.from_role_arn(
        roles, "Fixed", "arn:aws:iam::123456789012:role/bedrock-fixed", mutable=False
    ),
    "imported by name": lambda roles: iam.Role.from_role_name(roles, "Fixed", "bedrock-fixed", mutable=False),
    "made, without policy updates": lambda roles: iam.Role(
        roles, "Fixed", role_name="bedrock-fixed", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com")
    ).without_policy_updates(),
}


@pytest.mark.parametrize("how", IMMUTABLE_ROLES)
def test_an_immutable_role_of_another_stack_is_left_as_it_is(how: str) -> None:
    """As aws-cdk-lib leaves a role imported with mutable=False, or one without policy updates: no policy of the
    models stack is attached to it."""
    app = cdk.App()
    roles = cdk.Stack(app, "Roles", env=ENV)
    fixed = IMMUTABLE_ROLES[how](roles)
    models = cdk.Stack(app, "Models", env=ENV)
    custom_model(models, s3.Bucket(models, "Data"), role=fixed, kms_key=kms.Key(models, "ModelKey"))
    template = Template.from_stack(models).to_json()
    attached = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy" and "Roles" in r["Properties"]
    ]
    # By its name, or by the roles stack's export of it (for a role made there).
    of_the_roles_stack = ("bedrock-fixed", "Fn::ImportValue")
    assert not [r for r in attached if any(s in json.dumps(r["Properties"]["Roles"]) for s in of_the_roles_stack)]
