"""CopiedCustomModel: a custom model of another Region copied into the stack's, as its template says."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_bedrock_customization import (
    Completion,
    CopiedCustomModel,
    Customization,
    CustomModel,
    ImportedCustomModel,
    ModelSource,
    S3Data,
)

from .conftest import resources_of_type, role_statements

COPY = "Custom::BedrockCopiedCustomModel"
SOURCE = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"


def copies(template: Template) -> dict[str, Any]:
    return resources_of_type(template, COPY)


def granted(template: Template, action: str) -> list[Any]:
    handler = role_statements(template, "BedrockCustomizationProviderHandlerRole")
    return [
        s["Resource"] for s in handler if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]


def test_the_request_names_the_source_and_the_copy_is_kept_when_the_stack_goes(stack) -> None:
    CopiedCustomModel(
        stack, "Copy", source_model=SOURCE, target_model_name="support-east", target_model_tags={"team": "ml"}
    )
    ((_, resource),) = copies(Template.from_stack(stack)).items()
    properties = resource["Properties"]
    assert properties["sourceModelArn"] == SOURCE
    assert properties["targetModelName"] == "support-east"
    assert properties["targetModelTags"] == [{"key": "team", "value": "ml"}]
    assert properties["waitUntil"] == "Accepted"  # a wait condition waits, up to 12 hours
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


def test_the_handler_may_copy_exactly_the_source_and_read_copy_jobs(stack) -> None:
    CopiedCustomModel(stack, "Copy", source_model=SOURCE)
    template = Template.from_stack(stack)
    assert granted(template, "bedrock:CreateModelCopyJob") == [SOURCE]
    assert granted(template, "bedrock:ListModelCopyJobs") == ["*"]  # no resource type: finds a copy by its name
    (jobs,) = granted(template, "bedrock:GetModelCopyJob")
    assert stack.resolve(jobs) == stack.resolve(
        stack.format_arn(service="bedrock", resource="model-copy-job", resource_name="*")
    )
    # Copy jobs cannot be tagged: the handler has no tag actions on them (a copy's tags are its copied model's)...
    assert stack.resolve(jobs) not in [stack.resolve(arn) for arn in granted(template, "bedrock:TagResource")]
    # ...and the notifier may read this account's, in the stack's Region.
    notifier = role_statements(template, "BedrockJobCompletionNotifierRole")
    (reads,) = [s for s in notifier if s["Action"] == "bedrock:GetModelCopyJob"]
    assert "Condition" not in reads


def trained_model(stack: cdk.Stack) -> CustomModel:
    """A model trained in stack, the source of a copy."""
    return CustomModel(
        stack,
        "Trained",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_uri("s3://training-bucket/train.jsonl"),
        output_data=S3Data.from_uri("s3://training-bucket/output/"),
    )


def trained_in_west_for_east(stack: cdk.Stack) -> tuple[cdk.Stack, CustomModel, cdk.Stack]:
    """A stack of us-west-2 with a trained model, and a stack of us-east-1 that may refer to it (cross-Region)."""
    app = stack.node.root
    west = cdk.Stack(app, "West", env=cdk.Environment(account="123456789012", region="us-west-2"))
    east = cdk.Stack(
        app, "East", env=cdk.Environment(account="123456789012", region="us-east-1"), cross_region_references=True
    )
    return west, trained_model(west), east


def test_a_model_of_another_stack_is_granted_in_that_stacks_region(stack) -> None:
    _west, trained, east = trained_in_west_for_east(stack)
    CopiedCustomModel(east, "Copy", source_model=trained)
    (source,) = granted(Template.from_stack(east), "bedrock:CreateModelCopyJob")
    assert source == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:us-west-2:123456789012:custom-model/*"]]
    }


def test_a_model_of_another_regions_stack_warns_that_its_retrained_source_will_not_reach_the_copy(stack) -> None:
    """aws-cdk-lib's cross-Region export writer, on an update, puts only the parameters that are new (its handler in
    the cloud assembly; tests/deploy_local/test_cross_region_exports.py runs it): the copy keeps the first ARN. A source
    by ARN, or of a stack of the same Region (a CloudFormation export), is not warned of."""
    west, trained, east = trained_in_west_for_east(stack)
    CopiedCustomModel(east, "Copy", source_model=trained)
    CopiedCustomModel(east, "ByArn", source_model=SOURCE)
    # A model of the other Region's stack known by its ARN: the ARN is in this template, no reference.
    known = CustomModel.from_custom_model_arn(west, "Known", SOURCE)
    CopiedCustomModel(east, "KnownByArn", source_model=known)
    CopiedCustomModel(west, "Same", source_model=trained)
    written_once = Match.string_like_regexp("crossRegionSourceWrittenOnce")
    warnings = Annotations.from_stack(east).find_warning("*", written_once)
    assert [warning.id for warning in warnings] == ["/East/Copy"]
    assert "a retrained source model does not reach this copy" in warnings[0].entry.data
    assert Annotations.from_stack(west).find_warning("*", written_once) == []


@pytest.mark.parametrize("strength", ["strong", "weak", "both"])
def test_a_source_reached_by_any_reference_of_another_regions_stack_warns_that_a_retrained_one_will_not_reach_the_copy(
    strength,
) -> None:
    """aws-cdk-lib's ReferenceStrength: STRONG "uses ... ExportWriter/ExportReader custom resources (cross-region)",
    whose writer puts a value once; WEAK "uses Fn::GetStackOutput", which "is resolved at stack create or update time"
    (the CloudFormation user guide), and a retrained source changes only the source's template, so the CDK CLI skips
    the copy's stack. Either way the copy keeps the first model, and says why. A source given as the model's ARN
    attribute (a string) is a reference all the same."""
    app = cdk.App(context={"@aws-cdk/core:defaultCrossStackReferences": strength})
    west = cdk.Stack(app, "West", env=cdk.Environment(account="123456789012", region="us-west-2"))
    east = cdk.Stack(
        app, "East", env=cdk.Environment(account="123456789012", region="us-east-1"), cross_region_references=True
    )
    trained = trained_model(west)
    CopiedCustomModel(east, "Copy", source_model=trained)
    CopiedCustomModel(east, "ByAttribute", source_model=trained.model_arn)
    written_once = Match.string_like_regexp("crossRegionSourceWrittenOnce")
    warnings = Annotations.from_stack(east).find_warning("*", written_once)
    assert [warning.id for warning in warnings] == ["/East/Copy", "/East/ByAttribute"]
    why = "writer puts a value only once" if strength == "strong" else "resolved only when this stack is updated"
    assert all(why in warning.entry.data for warning in warnings)


def test_the_source_models_key_is_decrypted_by_the_copying_handler(stack) -> None:
    """encryption-custom-job.html: a statement "allows the model copy role to decrypt the key that encrypts the
    source model" (kms:Decrypt). Known for a source model made in the app; a source given by ARN is the user's."""
    app = stack.node.root
    west = cdk.Stack(app, "West", env=cdk.Environment(account="123456789012", region="us-west-2"))
    source_key = kms.Key(west, "SourceKey")
    trained = CustomModel(
        west,
        "Trained",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_uri("s3://training-bucket/train.jsonl"),
        output_data=S3Data.from_uri("s3://training-bucket/output/"),
        kms_key=source_key,
    )
    east = cdk.Stack(
        app, "East", env=cdk.Environment(account="123456789012", region="us-east-1"), cross_region_references=True
    )
    CopiedCustomModel(east, "Copy", source_model=trained)
    CopiedCustomModel(east, "CopyByArn", source_model=SOURCE)
    [decrypted] = granted(Template.from_stack(east), "kms:Decrypt")
    assert "SourceKey" in json.dumps(decrypted)  # the key's ARN, read from its stack's Region
    assert granted(Template.from_stack(east), "kms:CreateGrant") == []  # the copy itself has no key of its own


@pytest.mark.parametrize("given_as", ["arn", "model"])
def test_an_arn_known_only_at_deploy_is_granted_in_any_region_and_account(stack, given_as) -> None:
    """The source may be of another Region, or shared from another account (copy-model.html: "If a model was shared
    with you from another account, you must first copy it"): an ARN of a parameter says neither."""
    source_arn = cdk.CfnParameter(stack, "SourceModelArn").value_as_string
    source = source_arn if given_as == "arn" else CustomModel.from_custom_model_arn(stack, "Source", source_arn)
    CopiedCustomModel(stack, "Copy", source_model=source)
    (granted_source,) = granted(Template.from_stack(stack), "bedrock:CreateModelCopyJob")
    assert granted_source == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:*:*:custom-model/*"]]}


def test_a_model_of_an_environment_agnostic_stack_is_granted_in_any_region(stack) -> None:
    app = stack.node.root
    agnostic = cdk.Stack(app, "Agnostic")
    CopiedCustomModel(agnostic, "Copy", source_model=trained_model(agnostic))
    (source,) = granted(Template.from_stack(agnostic), "bedrock:CreateModelCopyJob")
    assert source == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:*:", {"Ref": "AWS::AccountId"}, ":custom-model/*"],
        ]
    }


def test_the_copy_is_served_from_the_completed_copy_job(stack) -> None:
    copy = CopiedCustomModel(stack, "Copy", source_model=SOURCE)
    copy.add_deployment("OnDemand")
    copy.add_provisioned_throughput("Throughput", model_units=1)
    template = Template.from_stack(stack)
    ((reader_id, reader),) = resources_of_type(template, "Custom::BedrockModelCopyJobResult").items()
    assert reader["Properties"]["jobArn"] == {"Ref": stack.get_logical_id(copy.resource)}
    ((_, deployment),) = resources_of_type(template, "Custom::BedrockCustomModelDeployment").items()
    assert deployment["Properties"]["modelArn"] == {"Fn::GetAtt": [reader_id, "targetModelArn"]}
    ((_, throughput),) = resources_of_type(template, "Custom::BedrockProvisionedModelThroughput").items()
    assert throughput["Properties"]["modelId"] == {"Fn::GetAtt": [reader_id, "targetModelArn"]}


def test_a_polled_copy_is_read_from_its_own_resource_and_a_key_is_granted_to_the_handler(stack) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    copy = CopiedCustomModel(stack, "Copy", source_model=SOURCE, kms_key=key, completion=Completion.polling())
    template = Template.from_stack(stack)
    copy_id = stack.get_logical_id(copy.resource)
    assert "waitUntil" not in copies(template)[copy_id]["Properties"]
    assert stack.resolve(copy.model_arn) == {"Fn::GetAtt": [copy_id, "targetModelArn"]}
    assert copies(template)[copy_id]["Properties"]["modelKmsKeyId"] == {
        "Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]
    }
    assert any(
        "kms:CreateGrant" in s["Action"] for s in role_statements(template, "BedrockCustomizationProviderHandlerRole")
    )


def test_an_invalid_source_is_refused_at_synth_naming_the_property(stack) -> None:
    with pytest.raises(ValueError, match=r"sourceModelArn: 'my-model' has 8 characters; it must have at least 20"):
        CopiedCustomModel(stack, "Copy", source_model="my-model")


def test_a_foundation_model_source_is_refused_at_synth_naming_it(stack) -> None:
    # copy-model.html: Bedrock copies custom models and shared models; the service model's pattern takes any model.
    source = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0"
    with pytest.raises(ValueError, match=rf"sourceModelArn: '{re.escape(source)}' is a foundation model's ARN"):
        CopiedCustomModel(stack, "Copy", source_model=source)
    assert stack.node.try_find_child("Copy") is None


@pytest.mark.parametrize(
    ("region", "source"),
    [
        # botocore's partitions: us-gov-west-1 and cn-north-1 are of aws-us-gov and aws-cn, which share nothing
        # with aws.
        ("us-gov-west-1", SOURCE),
        ("cn-north-1", SOURCE),
        ("us-east-1", SOURCE.replace("arn:aws:", "arn:aws-us-gov:").replace("us-west-2", "us-gov-west-1")),
    ],
)
def test_a_source_of_another_partition_is_refused_naming_it(region, source) -> None:
    stack = cdk.Stack(cdk.App(), "Copies", env=cdk.Environment(account="123456789012", region=region))
    with pytest.raises(ValueError, match=rf"^source_model: '{re.escape(source)}' is a model of partition aws"):
        CopiedCustomModel(stack, "Copy", source_model=source)
    assert stack.node.try_find_child("Copy") is None


def test_a_model_of_a_stack_of_another_partition_is_refused_as_the_source_naming_it() -> None:
    """Its ARN is a token; its stack's Region tells its partition."""
    app = cdk.App()
    trained = _tuned_in(cdk.Stack(app, "Source", env=cdk.Environment(account="123456789012", region="us-east-1")))
    gov = cdk.Stack(app, "Gov", env=GOV)
    refused = r"^source_model: 'Source/Tuned' is a model of partition aws, and this stack deploys to us-gov-west-1"
    with pytest.raises(ValueError, match=refused):
        CopiedCustomModel(gov, "Copy", source_model=trained)
    assert gov.node.try_find_child("Copy") is None


def test_a_base_model_of_another_partition_is_refused_naming_it() -> None:
    """The Region alone matched: us-gov-west-1 is the stack's, but the ARN's partition is aws."""
    stack = cdk.Stack(cdk.App(), "Gov", env=GOV)
    base = "arn:aws:bedrock:us-gov-west-1::foundation-model/amazon.nova-micro-v1:0:128k"
    with pytest.raises(
        ValueError, match=r"^base_model: .* of partition aws, and this stack deploys to us-gov-west-1, "
    ):
        _tuned_in(stack, base_model=base)


GOV = cdk.Environment(account="123456789012", region="us-gov-west-1")
# Of partition aws, though naming the Region us-gov-west-1 (of aws-us-gov).
ROLE_OF_AWS = "arn:aws:iam::123456789012:role/svc"
KEY_OF_AWS = "arn:aws:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PACKAGE_OF_AWS = "arn:aws:sagemaker:us-gov-west-1:123456789012:model-package/p/1"
GRADER_OF_AWS = "arn:aws:lambda:us-gov-west-1:123456789012:function:g"


def _tuned_in(stack: cdk.Stack, **props: Any) -> CustomModel:
    bucket = s3.Bucket(stack, "Data")
    defaults: dict[str, Any] = {
        "base_model": "amazon.nova-micro-v1:0:128k",
        "training_data": S3Data.from_bucket(bucket, "train.jsonl"),
        "output_data": S3Data.from_bucket(bucket, "output/"),
    }
    return CustomModel(stack, "Tuned", **(defaults | props))


@pytest.mark.parametrize(
    ("make", "refused"),
    [
        (
            lambda stack: _tuned_in(stack, role=iam.Role.from_role_arn(stack, "R", ROLE_OF_AWS)),
            f"^role: '{re.escape(ROLE_OF_AWS)}' is a role of partition aws, ",
        ),
        (
            lambda stack: _tuned_in(
                stack, training_data=S3Data.from_bucket(s3.Bucket.from_bucket_arn(stack, "B", "arn:aws:s3:::theirs"))
            ),
            r"^S3Data: 'arn:aws:s3:::theirs' is a bucket of partition aws, ",
        ),
        (
            lambda stack: _tuned_in(
                stack,
                training_data=S3Data.from_bucket(
                    s3.Bucket.from_bucket_attributes(
                        stack,
                        "B",
                        bucket_name="theirs",
                        encryption_key=kms.Key.from_key_arn(stack, "K", KEY_OF_AWS),
                    ),
                    "train.jsonl",
                ),
            ),
            f"^S3Data: '{re.escape(KEY_OF_AWS)}' is a bucket's key of partition aws, ",
        ),
        (
            lambda stack: ImportedCustomModel(
                stack, "Imported", source=ModelSource.from_model_package_arn(PACKAGE_OF_AWS)
            ),
            f"^source: '{re.escape(PACKAGE_OF_AWS)}' is a model package of partition aws, ",
        ),
        (
            lambda stack: _tuned_in(
                stack,
                base_model="amazon.nova-2-lite-v1:0:256k",
                customization=Customization.reinforcement_fine_tuning(
                    lambda_.Function.from_function_arn(stack, "G", GRADER_OF_AWS)
                ),
            ),
            f"^customization: '{re.escape(GRADER_OF_AWS)}' is a grader function of partition aws, ",
        ),
    ],
    ids=["role", "bucket", "bucket key", "model package", "grader"],
)
def test_an_arn_of_another_partition_that_iam_would_name_is_refused_naming_it(make, refused) -> None:
    """IAM refuses a policy naming another partition's resource (MalformedPolicyDocument: Partition "aws" is not valid
    for resource), and Bedrock cannot reach it: in a us-gov-west-1 stack (aws-us-gov), an arn:aws: role, bucket,
    bucket key, model package or grader function."""
    stack = cdk.Stack(cdk.App(), "Gov", env=GOV)
    with pytest.raises(ValueError, match=refused):
        make(stack)


def test_a_key_of_another_region_is_refused_naming_it(stack) -> None:
    key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    key = kms.Key.from_key_arn(stack, "Elsewhere", key_arn)
    with pytest.raises(ValueError, match=r"^kms_key: .* is a key of eu-west-1, and this stack deploys to us-east-1"):
        CopiedCustomModel(stack, "Copy", source_model=SOURCE, kms_key=key)
    assert stack.node.try_find_child("Copy") is None


def test_a_kept_copy_whose_key_its_own_stack_makes_warns_that_a_stack_made_again_copies_again(stack) -> None:
    CopiedCustomModel(stack, "Copy", source_model=SOURCE, kms_key=kms.Key(stack, "CopyKey"))
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("keyMadeAnewWithItsStack"))
    assert [warning.id for warning in warnings] == [f"/{stack.stack_name}/Copy"]
