"""A stack's tags reach the library's resources, as CloudFormation's propagation reaches the stack's native ones.

aws-cdk-lib's StackProps.tags: the tags are "applied to the CloudFormation Stack itself ... at deployment time,
CloudFormation will apply these tags to all resources in the stack that support tagging"; a Custom:: resource gets
none of them. A nested stack's tags are its AWS::CloudFormation::Stack resource's (aws-cdk-lib's NestedStack sets
them there), which CloudFormation "also propagates ... to the resources created in the stack" (the resource's Tags
property), with those of the stacks above it. A resource's own tag wins over a stack tag of its key, as in
CloudFormation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from bedrock_custom_resource.lifecycle import Desired
from cdk_bedrock_customization import (
    CopiedCustomModel,
    ImportedCustomModel,
    ImportedModel,
    ModelEvaluation,
    ModelSource,
    S3Data,
)

from .conftest import ENV, custom_model, resources_of_type
from .test_evaluation import BOOLQ, THROUGHPUT_ARN

JOB = "Custom::BedrockModelCustomizationJob"
JOB_TAGS = ["jobTags", "customModelTags"]
COST_CENTER = [{"key": "cost-center", "value": "cc-42"}]
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/nova-support/1"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/TestStack/a1b2c3d4-5678-90ab-cdef-1234567890ab"
SOURCE_IN_WEST = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"


def tagged_stack(tags: dict[str, str] | None = None) -> cdk.Stack:
    return cdk.Stack(cdk.App(), "TestStack", env=ENV, tags=tags if tags is not None else {"cost-center": "cc-42"})


def tag_lists(stack: cdk.Stack, resource_type: str, members: list[str]) -> list[dict[str, Any]]:
    """The members (a resource's tag lists) of each resource of the type in the stack's template."""
    resources = resources_of_type(Template.from_stack(stack), resource_type).values()
    assert resources, f"no {resource_type}"
    return [{member: resource["Properties"].get(member) for member in members} for resource in resources]


def _custom_model(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    custom_model(stack, bucket)


def _deployment_and_throughput(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    model = ImportedCustomModel(stack, "Imported", source=ModelSource.from_model_package_arn(PACKAGE_ARN))
    model.add_provisioned_throughput("Provisioned", model_units=1)
    custom_model(stack, bucket).add_deployment("OnDemand")


def _model_import(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    ImportedModel(stack, "Llama", model_data=S3Data.from_bucket(bucket, "weights/llama/"))


def _copy(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    CopiedCustomModel(stack, "Copy", source_model=SOURCE_IN_WEST)


def _evaluation_with_baseline(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    output = S3Data.from_bucket(bucket, "evaluations/")
    ModelEvaluation(
        stack, "Evaluation", model=THROUGHPUT_ARN, baseline_model="amazon.nova-micro-v1:0", datasets=[BOOLQ],
        output_data=output,
    )  # fmt: skip


# Each request's tag lists, as the Bedrock API names them (CreateModelCustomizationJob, CreateCustomModel, ...).
@pytest.mark.parametrize(
    ("make", "tagged"),
    [
        (_custom_model, {JOB: JOB_TAGS}),
        (
            _deployment_and_throughput,
            {
                "Custom::BedrockCustomModelDeployment": ["tags"],
                "Custom::BedrockProvisionedModelThroughput": ["tags"],
                "Custom::BedrockCustomModel": ["modelTags"],
            },
        ),
        (_model_import, {"Custom::BedrockImportedModel": ["jobTags", "importedModelTags"]}),
        (_copy, {"Custom::BedrockCopiedCustomModel": ["targetModelTags"]}),
        (_evaluation_with_baseline, {"Custom::BedrockModelEvaluationJob": ["jobTags"]}),  # both jobs
    ],
    ids=["custom-model", "imported-custom-model-deployment-and-throughput", "model-import", "copy", "evaluation"],
)
def test_a_stack_tag_reaches_every_tag_list_of_each_kind_of_resource(
    make: Callable[[cdk.Stack, s3.IBucket], None], tagged: dict[str, list[str]]
) -> None:
    stack = tagged_stack()
    make(stack, s3.Bucket(stack, "Data"))
    for resource_type, members in tagged.items():
        for found in tag_lists(stack, resource_type, members):
            assert found == dict.fromkeys(members, COST_CENTER), resource_type


def test_a_nested_stack_takes_its_parents_tags_and_its_own_win() -> None:
    parent = tagged_stack({"cost-center": "cc-42", "team": "parent"})
    nested = cdk.NestedStack(parent, "Nested")
    nested.tags.set_tag("team", "nested")  # aws-cdk-lib sets it on the AWS::CloudFormation::Stack resource
    custom_model(nested, s3.Bucket(nested, "Data"))
    (members,) = tag_lists(nested, JOB, ["jobTags"])
    assert members["jobTags"] == [{"key": "cost-center", "value": "cc-42"}, {"key": "team", "value": "nested"}]


def test_own_tags_win_over_tags_of_which_win_over_the_stacks() -> None:
    stack = tagged_stack({"cost-center": "from-stack", "owner": "from-stack", "tier": "from-stack"})
    custom_model(stack, s3.Bucket(stack, "Data"), job_tags={"owner": "own"})
    cdk.Tags.of(stack).add("owner", "tags-of", priority=1000)
    cdk.Tags.of(stack).add("cost-center", "tags-of")
    (members,) = tag_lists(stack, JOB, JOB_TAGS)
    expected = {"cost-center": "tags-of", "owner": "own", "tier": "from-stack"}
    assert members["jobTags"] == [{"key": key, "value": value} for key, value in expected.items()]
    assert members["customModelTags"] == [
        {"key": "cost-center", "value": "tags-of"},
        {"key": "owner", "value": "tags-of"},
        {"key": "tier", "value": "from-stack"},
    ]


def test_a_tag_given_to_the_stack_and_by_tags_of_is_one_tag() -> None:
    stack = tagged_stack({"cost-center": "cc-42", "tier": "gold"})
    custom_model(stack, s3.Bucket(stack, "Data"))
    cdk.Tags.of(stack).add("cost-center", "cc-42")  # the aspect tags the stack and the resources
    (members,) = tag_lists(stack, JOB, JOB_TAGS)
    expected = [*COST_CENTER, {"key": "tier", "value": "gold"}]
    assert members == {"jobTags": expected, "customModelTags": expected}


def left_out_warnings(stack: cdk.Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("stackTagsLeftOut"))
    return [str(warning.entry.data) for warning in found]


def test_a_stack_tag_bedrock_refuses_is_left_out_with_a_warning_and_the_others_kept() -> None:
    """Bedrock's TagValue pattern, [a-zA-Z0-9\\s._:/=+@-]*, refuses an accented letter, which IAM's and Lambda's tag
    patterns ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*) take: such a stack deployed before its tags reached these resources."""
    stack = tagged_stack({"owner": "José", "cost-center": "cc-42"})
    custom_model(stack, s3.Bucket(stack, "Data"))
    assert tag_lists(stack, JOB, JOB_TAGS) == [{"jobTags": COST_CENTER, "customModelTags": COST_CENTER}]
    (warning,) = left_out_warnings(stack)
    assert warning.startswith("the tags of stack TestStack, which CloudFormation gives its resources: left out here")
    assert "jobTags 'owner': 'José' does not match" in warning and "customModelTags 'owner': 'José'" in warning


def test_stack_tags_past_the_tag_limit_are_left_out_with_a_warning() -> None:
    # Bedrock keeps 50 tags on a resource, and the handler adds five of its own to a job's: 45 left; the model a job
    # makes keeps its tags without the handler's (README, "What happens on create, update and delete"): 46 fit.
    tags = {f"tag-{i:03d}": "v" for i in range(47)}
    stack = tagged_stack(tags)
    custom_model(stack, s3.Bucket(stack, "Data"))
    listed = [{"key": key, "value": value} for key, value in tags.items()]
    assert tag_lists(stack, JOB, JOB_TAGS) == [{"jobTags": listed[:45], "customModelTags": listed}]
    (warning,) = left_out_warnings(stack)
    assert "jobTags: no room beside its own for 'tag-045', 'tag-046' (jobTags: 46 tags; at most 45 " in warning
    assert "customModelTags" not in warning


def test_the_stack_tags_that_fill_the_room_are_the_first_by_code_point_on_any_machine() -> None:
    """The CDK orders a stack's tags with Node's localeCompare, which follows the machine's locale (en-US puts team
    before Zone; code points, Z (90) before t (116)): which tag is kept must not depend on the machine."""
    stack = tagged_stack({"team": "search", "Zone": "eu"})
    custom_model(stack, s3.Bucket(stack, "Data"), job_tags={f"own-{i:02d}": "v" for i in range(44)})
    (lists,) = tag_lists(stack, JOB, JOB_TAGS)
    assert {"key": "Zone", "value": "eu"} in lists["jobTags"]
    assert {"key": "team", "value": "search"} not in lists["jobTags"]


def test_stack_tags_fill_the_room_a_resources_own_tags_leave() -> None:
    stack = tagged_stack({"cost-center": "cc-42", "team": "search"})
    custom_model(stack, s3.Bucket(stack, "Data"), job_tags={f"own-{i:02d}": "v" for i in range(44)})
    (lists,) = tag_lists(stack, JOB, JOB_TAGS)
    assert {"key": "cost-center", "value": "cc-42"} in lists["jobTags"]
    assert {"key": "team", "value": "search"} not in lists["jobTags"]
    assert "jobTags: no room beside its own for 'team' (jobTags: 46 tags; at most 45 " in left_out_warnings(stack)[0]


def test_tags_of_take_the_room_before_the_stacks_tags() -> None:
    stack = tagged_stack({f"stack-{i:03d}": "v" for i in range(40)})
    custom_model(stack, s3.Bucket(stack, "Data"))
    for i in range(6):
        cdk.Tags.of(stack).add(f"added-{i}", "v")
    (lists,) = tag_lists(stack, JOB, JOB_TAGS)
    # Bedrock keeps 45 of a job's: the six of Tags.of, then the stack's in their order while there is room.
    assert sorted(tag["key"] for tag in lists["jobTags"]) == [f"added-{i}" for i in range(6)] + [
        f"stack-{i:03d}" for i in range(39)
    ]


def test_a_stack_tag_changes_neither_the_jobs_fingerprint_nor_its_names() -> None:
    """Tags are not what a resource is (contract.identifying): the handler's fingerprint and generated names, and
    the key of the job's wait condition, are those of the same job in a stack without tags."""
    identities = []
    for tags in ({}, {"cost-center": "cc-42"}):
        stack = tagged_stack(tags)
        role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/bedrock-jobs")
        custom_model(stack, s3.Bucket.from_bucket_name(stack, "Data", "training-data"), role=role)
        ((logical_id, job),) = resources_of_type(Template.from_stack(stack), JOB).items()
        properties = {name: value for name, value in job["Properties"].items() if name != "ServiceToken"}
        event = {"ResourceType": JOB, "ResourceProperties": properties, "StackId": STACK_ID}
        desired = Desired.of({**event, "LogicalResourceId": logical_id})
        untagged = {name: value for name, value in properties.items() if name not in ("jobTags", "customModelTags")}
        identities.append((desired.fingerprint, desired.attempt(0)["jobName"], untagged, properties.get("jobTags")))
    assert identities[0][:3] == identities[1][:3]
    assert (identities[0][3], identities[1][3]) == (None, COST_CENTER)
