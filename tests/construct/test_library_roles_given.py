"""A service role this library made, given to another construct (``role=``): Bedrock assumes it only for the job
kind its trust names, so one given to a job of another kind is refused at synth; one of the same kind is taken.

The trust of each kind is the Bedrock user guide's: a customization job's role has the aws:SourceArn
``arn:aws:bedrock:<region>:<account>:model-customization-job/*`` (model-customization-iam-role.html), an import
job's ``...:model-import-job/*`` (model-import-iam-role.html) and an evaluation job's ``...:evaluation-job/*``
(automatic-service-roles.html, under model-evaluation-security-service-roles.html); IAM's ArnLike matches a job's ARN
only against the pattern of its own kind.

Any role of another account than the stack's is refused: "You can only use the PassRole permission to pass an IAM role
to a service that shares the same AWS account" (IAM user guide, id_roles_use_passrole.html)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_bedrock_customization import (
    EvaluationDataset,
    ImportedCustomModel,
    ImportedModel,
    ModelEvaluation,
    ModelSource,
    S3Data,
)

from .conftest import ENV, custom_model

THROUGHPUT = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6"
BOOLQ = EvaluationDataset.builtin("Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"])
ESCROW_URI = "s3://customer-escrow-123456789012-smtj-a1b2c3/nova/"

# The job kinds of the trust policies' aws:SourceArn, as the user guide pages above spell them.
CUSTOMIZATION, IMPORT, EVALUATION = "model-customization-job", "model-import-job", "evaluation-job"

Make = Callable[..., Any]


def tuned(scope: cdk.Stack, bucket: s3.IBucket, construct_id: str, **props: Any) -> Any:
    return custom_model(scope, bucket, construct_id, data_prefix=f"{construct_id}/", **props)


def imported(scope: cdk.Stack, bucket: s3.IBucket, construct_id: str, **props: Any) -> Any:
    return ImportedModel(scope, construct_id, model_data=S3Data.from_bucket(bucket, f"{construct_id}/"), **props)


def evaluated(scope: cdk.Stack, bucket: s3.IBucket, construct_id: str, **props: Any) -> Any:
    output = S3Data.from_bucket(bucket, f"{construct_id}/")
    return ModelEvaluation(scope, construct_id, model=THROUGHPUT, datasets=[BOOLQ], output_data=output, **props)


def nova(scope: cdk.Stack, bucket: s3.IBucket, construct_id: str, **props: Any) -> Any:
    return ImportedCustomModel(scope, construct_id, source=ModelSource.from_uri(ESCROW_URI), **props)


# (the construct that makes the role, the kind its trust names, the construct given it, the kind of its job)
REFUSED: dict[str, tuple[Make, str, Make, str]] = {
    "a customization job's role, given to an import job": (tuned, CUSTOMIZATION, imported, IMPORT),
    "a customization job's role, given to an evaluation": (tuned, CUSTOMIZATION, evaluated, EVALUATION),
    "an import job's role, given to a customization job": (imported, IMPORT, tuned, CUSTOMIZATION),
    "an evaluation's role, given to a customization job": (evaluated, EVALUATION, tuned, CUSTOMIZATION),
    "an evaluation's role, given to an import job": (evaluated, EVALUATION, imported, IMPORT),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_role_made_for_another_job_kind_is_refused_naming_it(stack, bucket, case: str) -> None:
    make, trusted, given_to, runs = REFUSED[case]
    first = make(stack, bucket, "First")
    message = (
        f"role: TestStack/Second runs a {runs}, but was given TestStack/First/ServiceRole, a role this library made "
        f"that Bedrock may assume only for {trusted}s (its trust's aws:SourceAccount and aws:SourceArn), so the job "
        "would fail at deploy: give it a role of its own, or leave role out for one made for it"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        given_to(stack, bucket, "Second", role=first.role)
    assert stack.node.try_find_child("Second") is None  # refused: nothing left behind


def test_the_role_imported_again_by_its_arn_or_in_another_stack_is_refused_too(stack, bucket) -> None:
    first = tuned(stack, bucket, "First")
    again = iam.Role.from_role_arn(stack, "Again", first.role.role_arn, mutable=False)
    with pytest.raises(ValueError, match=r"^role: TestStack/Second runs a model-import-job, but was given TestStack/"):
        imported(stack, bucket, "Second", role=again)
    other = cdk.Stack(stack.node.root, "OtherStack", env=ENV)
    with pytest.raises(ValueError, match=r"^role: OtherStack/Import runs a model-import-job, but was given TestStack/"):
        imported(other, s3.Bucket(other, "Data"), "Import", role=first.role)


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        (cdk.Environment(account="123456789012", region="us-west-2"), "Region us-east-1"),
        (cdk.Environment(account="210987654321", region="us-east-1"), "account 123456789012"),
    ],
)
def test_a_role_of_its_own_kind_made_by_a_stack_of_another_environment_is_refused(environment, named) -> None:
    """Its trust names its own stack's account (aws:SourceAccount) and Region (aws:SourceArn): Bedrock's assumption for
    a job of another Region or account does not match it."""
    app = cdk.App()
    east = cdk.Stack(app, "East", env=ENV, cross_region_references=True)
    first = tuned(east, s3.Bucket(east, "Data"), "First")
    west = cdk.Stack(app, "West", env=environment, cross_region_references=True)
    refused = rf"^role: West/Second runs a model-customization-job, .* only in the {named} "
    with pytest.raises(ValueError, match=refused):
        tuned(west, s3.Bucket(west, "Data"), "Second", role=first.role)
    assert west.node.try_find_child("Second") is None


def test_a_role_shared_by_jobs_of_its_own_kind_is_taken(stack, bucket) -> None:
    first = tuned(stack, bucket, "First")
    tuned(stack, bucket, "Second", role=first.role)
    imports = imported(stack, bucket, "FirstImport")
    imported(stack, bucket, "SecondImport", role=imports.role)
    evaluation = evaluated(stack, bucket, "FirstEvaluation")
    evaluated(stack, bucket, "SecondEvaluation", role=evaluation.role)
    resources = Template.from_stack(stack).to_json()["Resources"]
    roles = {
        logical_id: resource["Properties"]["roleArn"]["Fn::GetAtt"][0]
        for logical_id, resource in resources.items()
        if "roleArn" in resource.get("Properties", {})
    }
    # Each job runs as the first one's role (a logical id is its path and a hash of 8 characters).
    assert {job[:-8]: role[:-8] for job, role in roles.items()} == {
        "First": "FirstServiceRole",
        "Second": "FirstServiceRole",
        "FirstImport": "FirstImportServiceRole",
        "SecondImport": "FirstImportServiceRole",
        "FirstEvaluation": "FirstEvaluationServiceRole",
        "SecondEvaluation": "FirstEvaluationServiceRole",
    }


def test_a_role_trusted_for_every_bedrock_resource_or_given_to_an_undocumented_kind_is_taken(stack, bucket) -> None:
    # ImportedCustomModel's own role trusts arn:...:bedrock:<region>:<account>:* (which Bedrock ARN a
    # CreateCustomModel's role assumption carries is not documented), which ArnLike matches for any job; for the same
    # reason no role given to it is refused.
    nova_import = nova(stack, bucket, "Nova")
    tuned(stack, bucket, "Tuned", role=nova_import.role)
    nova(stack, bucket, "NovaAgain", role=tuned(stack, bucket, "Own").role)
    Template.from_stack(stack)


def test_a_role_you_made_is_not_checked(stack, bucket) -> None:
    # Your role's trust is yours: the library takes it as given.
    yours = iam.Role(stack, "Yours", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    imported(stack, bucket, "Import", role=yours)
    Template.from_stack(stack)


OTHER_ACCOUNT = "210987654321"
MAKERS = {"customization job": tuned, "import job": imported, "evaluation": evaluated, "Nova import": nova}


@pytest.mark.parametrize("maker", MAKERS)
@pytest.mark.parametrize("how", ["imported by ARN", "made by a stack of that account"])
def test_a_role_of_another_account_is_refused_naming_it_and_both_accounts(maker: str, how: str) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Models", env=ENV)
    if how == "imported by ARN":
        named = f"arn:aws:iam::{OTHER_ACCOUNT}:role/bedrock-other"
        role: iam.IRole = iam.Role.from_role_arn(stack, "Other", named)
    else:
        roles = cdk.Stack(app, "Roles", env=cdk.Environment(account=OTHER_ACCOUNT, region="us-east-1"))
        role = iam.Role(
            roles, "Other", role_name="bedrock-other", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com")
        )
        named = "Roles/Other"
    refused = (
        f"role: {named!r} is a role of account {OTHER_ACCOUNT}, and this stack deploys to account 123456789012: "
        "Bedrock is given a service role of its own account only"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(refused)}"):
        MAKERS[maker](stack, s3.Bucket(stack, "Data"), "Given", role=role)
    assert stack.node.try_find_child("Given") is None


def test_a_role_whose_account_or_the_stacks_is_unknown_at_synth_is_taken() -> None:
    app = cdk.App()
    agnostic = cdk.Stack(app, "Agnostic")
    tuned(
        agnostic,
        s3.Bucket(agnostic, "Data"),
        "Given",
        role=iam.Role.from_role_arn(agnostic, "Other", f"arn:aws:iam::{OTHER_ACCOUNT}:role/bedrock-other"),
    )
    stack = cdk.Stack(app, "Models", env=ENV)
    by_parameter = cdk.CfnParameter(stack, "RoleArn").value_as_string
    tuned(stack, s3.Bucket(stack, "Data"), "Given", role=iam.Role.from_role_arn(stack, "Parameter", by_parameter))
    Template.from_stack(agnostic)
    Template.from_stack(stack)
